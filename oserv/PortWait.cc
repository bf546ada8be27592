// Bind probing and the port-in-use wait loop.
#include "PortWait.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "UniqueFd.h"

namespace openoserv {

BindProbe probe_bind(const std::string& ip, std::uint16_t port, int* error) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!ip.empty() && ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr) != 1) {
    if (error) *error = EINVAL;
    return BindProbe::kOtherError;
  }
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) {
    if (error) *error = errno;
    return BindProbe::kOtherError;
  }
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  // Listening makes the probe see the same conflicts a real listener would.
  if (rc == 0) rc = ::listen(fd.get(), 1);
  int err = rc == 0 ? 0 : errno;
  fd.reset();
  if (error) *error = err;
  switch (err) {
    case 0: return BindProbe::kFree;
    case EADDRINUSE: return BindProbe::kInUse;
    case EADDRNOTAVAIL: return BindProbe::kAddressNotLocal;
    case EACCES: case EPERM: return BindProbe::kDenied;
    default: return BindProbe::kOtherError;
  }
}

PortWaitResult wait_for_port(const std::string& ip, std::uint16_t port,
                             std::chrono::milliseconds interval, std::chrono::milliseconds timeout,
                             const std::function<void()>& on_wait,
                             const std::function<bool(std::chrono::milliseconds)>& pause) {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  for (;;) {
    BindProbe p = probe_bind(ip, port);
    auto waited = std::chrono::duration_cast<std::chrono::seconds>(clock::now() - start);
    if (p != BindProbe::kInUse || clock::now() - start >= timeout)
      return {p, static_cast<int>(waited.count())};
    on_wait();
    // Rounded up: a remainder under a millisecond truncated to 0 would make the last pauses
    // return at once, and the loop log "In use" many times in its final millisecond.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(timeout - (clock::now() - start));
    if (!pause(std::min(interval, left))) return {p, static_cast<int>(waited.count()), true};
  }
}

}  // namespace openoserv
