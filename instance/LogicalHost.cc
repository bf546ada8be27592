// Logical host resolution.
#include "LogicalHost.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/core.h>

#include "InstanceTable.h"
#include "UniqueFd.h"

namespace openoserv {

bool is_local_address(const std::string& ip) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = 0;
  if (::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) return false;
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return fd && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
}

HostAddress resolve_logical_host(const std::string& host, const std::string& source) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || !res)
    throw ConfigError(fmt::format("logical host '{}' (from {}) does not resolve to an IPv4 address: {}",
                                  host, source, rc ? ::gai_strerror(rc) : "no address"));
  char buf[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr, buf, sizeof buf);
  ::freeaddrinfo(res);
  HostAddress out{buf, false};
  out.local = is_local_address(out.ip);
  return out;
}

}  // namespace openoserv
