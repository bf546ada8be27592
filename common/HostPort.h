// HOST[:PORT] as the commands take it (--host, --tmr, benchmark addresses).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace openoserv {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const;  // "host:port"
};

// Parses "host" (taking `default_port`) or "host:port". Throws std::invalid_argument with a
// sentence naming the text when the host is empty or the port is not 1-65535.
HostPort parse_host_port(std::string_view text, std::uint16_t default_port);

}  // namespace openoserv
