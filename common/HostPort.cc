// HOST[:PORT] parsing.
#include "HostPort.h"

#include <stdexcept>

#include <fmt/core.h>

#include "Numbers.h"

namespace openoserv {

std::string HostPort::text() const { return fmt::format("{}:{}", host, port); }

HostPort parse_host_port(std::string_view text, std::uint16_t default_port) {
  HostPort out{std::string(text), default_port};
  if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    out.host = std::string(text.substr(0, colon));
    const auto port = parse_number<std::uint16_t>(text.substr(colon + 1));
    if (!port || *port == 0)
      throw std::invalid_argument(
          fmt::format("'{}' is not HOST[:PORT]: the port must be a number from 1 to 65535", text));
    out.port = *port;
  }
  if (out.host.empty())
    throw std::invalid_argument(fmt::format("'{}' is not HOST[:PORT]: the host is empty", text));
  return out;
}

}  // namespace openoserv
