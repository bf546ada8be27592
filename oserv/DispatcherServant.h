// The Dispatcher CORBA object: liveness, status, odlist and the odadmin administrative calls.
#pragma once

#include <cstdint>
#include <string>

#include "Database.h"
#include "Instance.h"
#include "OservLog.h"
#include "oserv.hh"

namespace openoserv {

// What the running oserv knows about itself; filled in by main before activation.
struct DispatcherState {
  ResolvedInstance instance;
  db::Database* db = nullptr;
  OservLog* log = nullptr;
  std::uint32_t region = 0;
  std::uint32_t od = 0;
  std::string listen_ip;     // empty: all addresses
  std::string published_ip;  // the logical host's address, in IORs and the odlist
  bool force_bind_active = false;
  std::string started;
  std::string install_dir;
  std::string ior;
};

class DispatcherServant : public POA_OServ::Dispatcher {
 public:
  explicit DispatcherServant(DispatcherState& state) : state_(state) {}

  void ping() override {}
  OServ::StatusBlock* status() override;
  OServ::OdEntries* odlist() override;
  char* set_force_bind(CORBA::Boolean on, CORBA::ULong od) override;
  char* db_sync() override;
  char* shutdown(CORBA::ULong od) override;
  char* ior() override;

 private:
  DispatcherState& state_;
};

}  // namespace openoserv
