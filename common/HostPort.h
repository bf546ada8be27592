// HOST[:PORT] as the commands take it (--host, --tmr, benchmark addresses), and Tivoli's
// gateway lists (lcfd -g, lcf.dat, wep set interfaces).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "UniqueFd.h"

namespace openoserv {

struct HostPort {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const;  // "host:port"
};

// Parses "host" (taking `default_port`) or "host:port". Throws std::invalid_argument with a
// sentence naming the text when the host is empty or the port is not 1-65535.
HostPort parse_host_port(std::string_view text, std::uint16_t default_port);

// A gateway as lcfd names it: host and port, "host+port" in files and on -g.
struct GatewayAddress {
  std::string host;
  std::uint16_t port = 0;
  std::string text() const;  // "host+port"
  bool operator==(const GatewayAddress&) const = default;
};

// Parses Tivoli's gateway lists: "gw", "gw+9494", "gw1+9494:gw2:10.0.0.3+9495" (':' between
// gateways, '+' before a port; `default_port` when none). Throws std::invalid_argument naming
// the bad entry.
std::vector<GatewayAddress> parse_gateways(const std::string& text, std::uint16_t default_port);
// The other way: "gw1+9494:gw2+9495".
std::string gateways_text(const std::vector<GatewayAddress>& list);

// A TCP connection to `host`:`port` (a name or an address literal: each of its addresses in
// turn), each connect bounded by `limit`. Throws std::runtime_error naming the host, the port
// and why.
UniqueFd connect_within(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds limit);
// Whether a TCP connection to `host`:`port` is accepted within `limit`: a host that is down or
// cut off, or a port nobody listens on, says no at once or by `limit`.
bool tcp_accepts(const std::string& host, std::uint16_t port, std::chrono::milliseconds limit);

}  // namespace openoserv
