// What the running dispatcher is: its instance, its place in the region, where it listens.
// Filled in once at start-up, read-only afterwards, so every component may hold a reference.
#pragma once

#include <cstdint>
#include <string>

#include "Instance.h"

namespace openoserv {

struct DispatcherInfo {
  ResolvedInstance instance;
  std::uint32_t region = 0;
  std::uint32_t od = 0;
  std::string ip;         // the logical host's address: what the odlist records and IORs name
  std::string listen_ip;  // what the TCP endpoint binds; empty: all addresses
  bool force_bind_active = false;
  std::string started;      // start time, log format
  std::string install_dir;  // where the programs run from

  const std::string& id() const { return instance.where.id; }
  // "127.0.0.2:9494", or "*:9494" when listening on all addresses.
  std::string listening() const {
    return (listen_ip.empty() ? std::string("*") : listen_ip) + ":" +
           std::to_string(instance.port);
  }
};

}  // namespace openoserv
