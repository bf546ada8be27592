// OServ::Security: who the caller is, and the region's administrators.
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class SecurityServant : public virtual POA_OServ::Security {
 public:
  explicit SecurityServant(LocalDispatcher& local) : local_(local) {}

  char* whoami() override;
  OServ::AdminEntries* administrators() override;
  char* set_administrator(const OServ::AdminEntry& entry, CORBA::Boolean create) override;
  char* delete_administrator(const char* name) override;
  void administrators_update(const OServ::AdminEntries& all) override;

 private:
  LocalDispatcher& local_;
};

}  // namespace openoserv
