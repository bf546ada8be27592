// What the running oserv knows about itself; filled in by main before the Dispatcher is
// activated, shared by the servant and the object dispatch.
#pragma once

#include <cstdint>
#include <string>

#include "Database.h"
#include "Instance.h"
#include "OservLog.h"
#include "Region.h"

namespace openoserv {

// What the running oserv knows about itself; filled in by main before activation.
struct DispatcherState {
  ResolvedInstance instance;
  db::Database* db = nullptr;
  OservLog* log = nullptr;
  std::uint32_t region = 0;
  std::uint32_t od = 0;
  std::string listen_ip;     // empty: all addresses
  bool force_bind_active = false;
  std::string started;
  std::string install_dir;
  std::string ior;
  Region* peers = nullptr;  // the other dispatchers of the region
};

}  // namespace openoserv
