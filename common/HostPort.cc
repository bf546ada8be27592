// HOST[:PORT] parsing, and Tivoli's gateway lists.
#include "HostPort.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "Numbers.h"
#include "UniqueFd.h"

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

bool tcp_accepts(const std::string& ip, std::uint16_t port, std::chrono::milliseconds limit) {
  sockaddr_storage addr{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&addr);
  if (::inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    return false;
  }
  UniqueFd fd(::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return false;
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), len) == 0) return true;
  if (errno != EINPROGRESS) return false;
  pollfd p{fd.get(), POLLOUT, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return false;
  int err = 0;
  socklen_t err_len = sizeof err;
  return ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) == 0 && err == 0;
}

}  // namespace openoserv
