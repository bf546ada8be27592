// OServ::Admin: liveness, status block, health, db_sync, shutdown, IOR, online backup.
#pragma once

#include <string>

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class AdminServant : public virtual POA_OServ::Admin {
 public:
  explicit AdminServant(LocalDispatcher& local) : local_(local) {}
  // The dispatcher's IOR, known once it is activated.
  void set_ior(std::string ior) { ior_ = std::move(ior); }

  void ping() override {}
  OServ::StatusBlock* status() override;
  OServ::StringList* health(CORBA::ULong max_method_seconds) override;
  char* db_sync() override;
  char* shutdown(CORBA::ULong od) override;
  char* ior() override;
  char* backup(const char* target_dir) override;
  char* method_user() override;
  char* set_method_user(const char* user) override;
  OServ::StringList* log_tail(CORBA::ULong lines) override;

 private:
  LocalDispatcher& local_;
  std::string ior_;
};

}  // namespace openoserv
