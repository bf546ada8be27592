// Dispatch operations.
#include "DispatchServant.h"

#include "RequestContext.h"
#include "ServantSupport.h"
#include "WireConvert.h"

namespace openoserv {

OServ::MethodResult* DispatchServant::invoke(const char* oid, const char* method,
                                             const OServ::StringList& args) {
  return guarded([&] {
    RequestContext::note_invoke(oid, method);
    return new OServ::MethodResult(
        wire::result(local_.objects.invoke(oid, method, wire::strings(args),
                                           &RequestContext::current().principal)));
  });
}

OServ::MethodThreads* DispatchServant::odstat() {
  const auto list = local_.threads.list();
  auto out = std::make_unique<OServ::MethodThreads>();
  out->length(static_cast<CORBA::ULong>(list.size()));
  for (CORBA::ULong i = 0; i < list.size(); ++i) {
    auto& t = (*out)[i];
    t.id = list[i].id;
    t.state = list[i].state.c_str();
    t.started = list[i].started.c_str();
    t.oid = list[i].oid.c_str();
    t.method = list[i].method.c_str();
    t.pid = list[i].pid;
  }
  return out.release();
}

}  // namespace openoserv
