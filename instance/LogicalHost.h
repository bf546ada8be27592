// Turning a logical host name into the IPv4 address an oserv binds and publishes.
#pragma once

#include <string>

namespace openoserv {

struct HostAddress {
  std::string ip;      // dotted quad
  bool local = false;  // an address of this host (binding to it works)
};

// Resolves `host` (a name or a dotted quad) to its first IPv4 address and checks whether it is
// configured on this host. Throws ConfigError naming the host and `source` (where the name came
// from) when it does not resolve.
HostAddress resolve_logical_host(const std::string& host, const std::string& source);

// True when a socket can be bound to `ip` here (EADDRNOTAVAIL means the address is elsewhere).
bool is_local_address(const std::string& ip);

}  // namespace openoserv
