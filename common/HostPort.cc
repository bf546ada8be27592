// HOST[:PORT] parsing, and Tivoli's gateway lists.
#include "HostPort.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
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

UniqueFd connect_within(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds limit) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0)
    throw std::runtime_error(fmt::format("{}: {}", host, ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
  std::string why = "no address";
  for (addrinfo* a = found; a; a = a->ai_next) {
    UniqueFd fd(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!fd) continue;
    if (::connect(fd.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      why = std::strerror(errno);
      continue;
    }
    pollfd p{fd.get(), POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1 ||
        ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      why = err ? std::strerror(err) : "timed out";
      continue;
    }
    return fd;
  }
  throw std::runtime_error(fmt::format("cannot connect to {}:{}: {}", host, port, why));
}

bool tcp_accepts(const std::string& host, std::uint16_t port, std::chrono::milliseconds limit) {
  try {
    connect_within(host, port, limit);
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

}  // namespace openoserv
