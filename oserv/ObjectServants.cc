// Framework object servants: typed operations onto the domain's methods.
#include "ObjectServants.h"

#include <fmt/core.h>

#include "RequestContext.h"
#include "ServantSupport.h"
#include "WireConvert.h"

namespace openoserv {

namespace {
thread_local std::string current_oid;
}

const std::string& ObjectServant::current() { return current_oid; }
void ObjectServant::set_current(std::string oid) { current_oid = std::move(oid); }

MethodOutcome ObjectServant::call(const std::string& method, const std::vector<std::string>& args) {
  return local_.objects.invoke(current_oid, method, args, &RequestContext::current().principal);
}

char* ObjectServant::call_for_text(const std::string& method,
                                   const std::vector<std::string>& args) {
  return guarded([&] {
    auto r = call(method, args);
    if (r.exit_code != 0)
      fail(fmt::format("{} on {} failed with exit code {}: {}", method, current_oid, r.exit_code,
                       r.output));
    if (!r.output.empty() && r.output.back() == '\n') r.output.pop_back();
    return dup(r.output);
  });
}

char* ObjectServant::oid() { return call_for_text("oid"); }
char* ObjectServant::class_name() { return call_for_text("class_name"); }

OServ::MethodResult* ObjectServant::invoke(const char* method, const OServ::StringList& args) {
  return guarded([&] {
    RequestContext::note_invoke(current_oid, method);
    return new OServ::MethodResult(wire::result(call(method, wire::strings(args))));
  });
}

char* ManagedNodeServant::ping() { return call_for_text("ping"); }
char* ManagedNodeServant::hostname() { return call_for_text("hostname"); }

OServ::MethodResult* ManagedNodeServant::run_script(const char* script) {
  return guarded([&] { return new OServ::MethodResult(wire::result(call("run_script", {script}))); });
}

char* ManagedNodeServant::host_gateway(const char* label, CORBA::UShort port) {
  return call_for_text("host_gateway", {label, std::to_string(port)});
}

char* GatewayServant::start_gateway() { return call_for_text("start_gateway"); }
char* GatewayServant::stop_gateway() { return call_for_text("stop_gateway"); }
char* GatewayServant::gateway_status() { return call_for_text("gateway_status"); }

void TaskLibraryServant::add_task(const char* name, const char* script) {
  CORBA::String_var ignored = call_for_text("add_task", {name, script});
}

OServ::StringList* TaskLibraryServant::list_tasks() {
  CORBA::String_var text = call_for_text("list_tasks");
  std::vector<std::string> tasks;
  const std::string all = text.in();
  for (size_t pos = 0; pos < all.size();) {
    const size_t nl = std::min(all.find('\n', pos), all.size());
    if (nl > pos) tasks.push_back(all.substr(pos, nl - pos));
    pos = nl + 1;
  }
  return new OServ::StringList(wire::strings(tasks));
}

OServ::MethodResult* TaskLibraryServant::run_task(const char* name, const char* node) {
  return guarded([&] { return new OServ::MethodResult(wire::result(call("run_task", {name, node}))); });
}

}  // namespace openoserv
