// idlcall: call an IDL operation of a framework object through its object reference, as
// Tivoli's idlcall did; objcall (the same program under another name) calls a method.
//
// The reference is the OID at the local oserv (corbaloc on its Unix socket; any dispatcher
// relays a call to the object's owner), the OID at --host, or an IOR / corbaloc URL given
// instead of the OID.
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "ClientMain.h"
#include "Oid.h"
#include "WireConvert.h"

using namespace openoserv;

namespace {

const char* kUsageText = R"(Usage: idlcall [options] OBJECT OPERATION [ARGS...]
       objcall [options] OBJECT METHOD [ARGS...]

Calls an operation of a framework object through its CORBA object reference. OBJECT is an OID
(<region>.<dispatcher>.<object>#<class>#, or without the #class# part), reached through the local
oserv (or --host), which relays the call to the dispatcher that owns the object; or an IOR
(wlookup --ior) or a corbaloc URL (wlookup --url).

Operations (interface OServ::Object and those derived from it, see idl/oserv.idl):
  every object   oid | class_name | invoke METHOD [ARGS...]
  ManagedNode    ping | hostname | run_script SCRIPT
  TaskLibrary    add_task NAME SCRIPT | list_tasks | run_task NAME NODE
objcall OBJECT METHOD ARGS... is idlcall OBJECT invoke METHOD ARGS...: it runs a method, built in
or installed with wclass (ManagedNode: ping, hostname, run_script; TaskLibrary: add_task,
list_tasks, run_task; every object: oid, class_name).

Output: a string result on one line, a list one item per line; for invoke, run_script and
run_task the method's output as it printed it.

Exit codes: the method's own exit code for invoke, run_script and run_task; else 0 success;
1 the call failed (no such object or operation, the owning dispatcher does not answer: the
message names it), 2 usage error, 3 the local oserv does not answer.
)";

using Handler = std::function<int(OServ::Object_ptr, const std::vector<std::string>&)>;

struct Operation {
  const char* name;
  const char* interface;   // for messages
  size_t arity;            // arguments after the operation name
  bool variadic;           // arity is a minimum
  Handler call;
};

int print_line(const char* text) {
  fmt::print("{}\n", text);
  return 0;
}

int print_result(const OServ::MethodResult& r) {
  std::fputs(r.output.in(), stdout);
  return static_cast<int>(r.exit_code);
}

// _narrow asks the object (_is_a, a request) rather than trusting the caller: a bare-OID
// corbaloc key is served to requests only, and an unchecked reference would have omniORB send a
// GIOP LocateRequest first (see RequestContext.h).
template <typename T>
typename T::_ptr_type as(CORBA::Object_ptr obj) {
  typename T::_var_type typed = T::_narrow(obj);
  if (CORBA::is_nil(typed)) throw CORBA::BAD_OPERATION();
  return typed._retn();
}

const std::vector<Operation>& operations() {
  static const std::vector<Operation> table = {
      {"oid", "Object", 0, false,
       [](auto obj, auto&) { return print_line(CORBA::String_var(obj->oid()).in()); }},
      {"class_name", "Object", 0, false,
       [](auto obj, auto&) { return print_line(CORBA::String_var(obj->class_name()).in()); }},
      {"invoke", "Object", 1, true,
       [](auto obj, auto& a) {
         const OServ::StringList args = wire::strings({a.begin() + 1, a.end()});
         return print_result(OServ::MethodResult_var(obj->invoke(a[0].c_str(), args)).in());
       }},
      {"ping", "ManagedNode", 0, false,
       [](auto obj, auto&) {
         OServ::ManagedNode_var node = as<OServ::ManagedNode>(obj);
         return print_line(CORBA::String_var(node->ping()).in());
       }},
      {"hostname", "ManagedNode", 0, false,
       [](auto obj, auto&) {
         OServ::ManagedNode_var node = as<OServ::ManagedNode>(obj);
         return print_line(CORBA::String_var(node->hostname()).in());
       }},
      {"run_script", "ManagedNode", 1, false,
       [](auto obj, auto& a) {
         OServ::ManagedNode_var node = as<OServ::ManagedNode>(obj);
         return print_result(OServ::MethodResult_var(node->run_script(a[0].c_str())).in());
       }},
      {"add_task", "TaskLibrary", 2, false,
       [](auto obj, auto& a) {
         OServ::TaskLibrary_var lib = as<OServ::TaskLibrary>(obj);
         lib->add_task(a[0].c_str(), a[1].c_str());
         return 0;
       }},
      {"list_tasks", "TaskLibrary", 0, false,
       [](auto obj, auto&) {
         OServ::TaskLibrary_var lib = as<OServ::TaskLibrary>(obj);
         OServ::StringList_var tasks = lib->list_tasks();
         for (CORBA::ULong i = 0; i < tasks->length(); ++i) print_line(tasks[i].in());
         return 0;
       }},
      {"run_task", "TaskLibrary", 2, false,
       [](auto obj, auto& a) {
         OServ::TaskLibrary_var lib = as<OServ::TaskLibrary>(obj);
         return print_result(
             OServ::MethodResult_var(lib->run_task(a[0].c_str(), a[1].c_str())).in());
       }},
  };
  return table;
}

const Operation& find_operation(const std::string& name, size_t given) {
  for (const auto& op : operations()) {
    if (name != op.name) continue;
    if (given == op.arity || (op.variadic && given >= op.arity)) return op;
    throw UsageError(fmt::format("{} takes {}{} argument(s), not {} (see idlcall --help)", name,
                                 op.variadic ? "at least " : "", op.arity, given));
  }
  throw UsageError(fmt::format("'{}' is not an operation of a framework object (see idlcall "
                               "--help); to run a method, use invoke or objcall",
                               name));
}

bool is_reference(const std::string& text) {
  return text.rfind("IOR:", 0) == 0 || text.rfind("corbaloc:", 0) == 0;
}

int call(OservClient& client, const std::vector<std::string>& args) {
  if (args.size() < 2) throw UsageError("an OBJECT and an OPERATION are needed");
  const std::vector<std::string> rest(args.begin() + 2, args.end());
  const Operation& op = find_operation(args[1], rest.size());
  Oid oid;
  if (!is_reference(args[0]) && !Oid::try_parse(args[0], oid))
    throw ClientError(fmt::format("'{}' is not an object id (<region>.<dispatcher>.<object>"
                                  "#<class>#), an IOR or a corbaloc URL",
                                  args[0]));
  CORBA::Object_var target = client.object(args[0]);
  try {
    return client.call([&] {
      try {
        OServ::Object_var obj = as<OServ::Object>(target);
        return op.call(obj.in(), rest);
      } catch (const CORBA::OBJECT_NOT_EXIST&) {
        throw ClientError(fmt::format("object {} does not exist (see wlookup)", args[0]));
      }
    });
  } catch (const ClientError& e) {
    // BAD_OPERATION: the object is there, but is not of the operation's interface.
    if (std::strstr(e.what(), "BAD_OPERATION"))
      throw ClientError(fmt::format("{} is not a {}: it has no operation {} (see idlcall --help)",
                                    args[0], op.interface, op.name));
    throw;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* slash = std::strrchr(argv[0], '/');
  const bool objcall = std::strcmp(slash ? slash + 1 : argv[0], "objcall") == 0;
  ClientCommand command{.name = objcall ? "objcall" : "idlcall",
                        .usage = kUsageText,
                        .body = call,
                        .negative_numbers = true};
  if (objcall)
    command.body = [](OservClient& client, const std::vector<std::string>& args) {
      if (args.size() < 2) throw UsageError("an OBJECT and a METHOD are needed");
      std::vector<std::string> with_invoke = {args[0], "invoke"};
      with_invoke.insert(with_invoke.end(), args.begin() + 1, args.end());
      return call(client, with_invoke);
    };
  return client_main(command, argc, argv);
}
