// OServ::Dispatch: method invocation by OID (as dispatchers relay calls to owners) and odstat.
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class DispatchServant : public virtual POA_OServ::Dispatch {
 public:
  explicit DispatchServant(LocalDispatcher& local) : local_(local) {}

  OServ::MethodResult* invoke(const char* oid, const char* method,
                              const OServ::StringList& args) override;
  OServ::MethodThreads* odstat() override;

 private:
  LocalDispatcher& local_;
};

}  // namespace openoserv
