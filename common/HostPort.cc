// HOST[:PORT] parsing, and Tivoli's gateway lists.
#include "HostPort.h"

#include <sstream>
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

std::string gateways_text(const std::vector<GatewayAddress>& list) {
  std::string out;
  for (const auto& g : list) {
    if (!out.empty()) out += ':';
    out += g.text();
  }
  return out;
}

std::string GatewayAddress::text() const { return fmt::format("{}+{}", host, port); }

std::vector<GatewayAddress> parse_gateways(const std::string& text, std::uint16_t default_port) {
  std::vector<GatewayAddress> out;
  std::stringstream entries(text);
  std::string entry;
  while (std::getline(entries, entry, ':')) {
    if (entry.empty()) throw std::invalid_argument(fmt::format("'{}': an empty gateway", text));
    GatewayAddress g{entry, default_port};
    if (const size_t plus = entry.find('+'); plus != std::string::npos) {
      g.host = entry.substr(0, plus);
      const auto port = parse_number<std::uint16_t>(entry.substr(plus + 1));
      if (!port || *port == 0)
        throw std::invalid_argument(fmt::format("'{}': '{}' is not a port (1-65535)", entry,
                                                entry.substr(plus + 1)));
      g.port = *port;
    }
    if (g.host.empty()) throw std::invalid_argument(fmt::format("'{}': no host", entry));
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace openoserv
