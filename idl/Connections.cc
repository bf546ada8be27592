#include "Connections.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstdlib>

#include <omniORB4/CORBA.h>
#include <omniORB4/internal/SocketCollection.h>
#include <omniORB4/sslContext.h>
#include <omniORB4/sslConnection.h>
#include <omniORB4/tcpConnection.h>
#include <omniORB4/unixConnection.h>

namespace openoserv {

int socket_of(const omni::giopConnection* connection) {
  if (auto* tcp = dynamic_cast<const omni::tcpConnection*>(connection)) return tcp->handle();
  if (auto* ssl = dynamic_cast<const omni::sslConnection*>(connection)) return ssl->handle();
  if (auto* unix_socket = dynamic_cast<const omni::unixConnection*>(connection))
    return unix_socket->handle();
  return -1;
}

namespace {

// What one byte's peek at `socket` finds: 1 data, 0 the end of the stream, -1 an error, -2 nothing.
int peek(int socket) {
  char byte;
  const ssize_t n = ::recv(socket, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return -2;
  return n < 0 ? -1 : static_cast<int>(n);
}

}  // namespace

bool peer_closed(int socket) {
  if (socket < 0) return false;
  // The peer's end of the stream, even behind bytes not read yet: a TLS peer sends its
  // close_notify before it closes, so a peek alone would see data, not the end.
  pollfd p{socket, POLLRDHUP, 0};
  if (::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return true;
  const int found = peek(socket);
  return found == 0 || found == -1;
}

bool idle_connection_closing(int socket) { return socket >= 0 && peek(socket) != -2; }

namespace {

// The TCP port `fd` listens on (0: not a listening TCP socket).
std::uint16_t listening_port(int fd) {
  int listening = 0;
  socklen_t size = sizeof listening;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) != 0 || !listening) return 0;
  sockaddr_storage address{};
  size = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return 0;
  if (address.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in&>(address).sin_port);
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6&>(address).sin6_port);
  return 0;
}

}  // namespace

int limit_unacknowledged_data(std::uint16_t port, std::chrono::seconds timeout) {
  DIR* fds = ::opendir("/proc/self/fd");
  if (!fds) return 0;
  const unsigned milliseconds = static_cast<unsigned>(
      std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  int found = 0;
  while (const dirent* entry = ::readdir(fds)) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || end == entry->d_name || fd == ::dirfd(fds)) continue;
    if (listening_port(static_cast<int>(fd)) != port) continue;
    if (::setsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_USER_TIMEOUT, &milliseconds,
                     sizeof milliseconds) == 0)
      ++found;
  }
  ::closedir(fds);
  return found;
}

}  // namespace openoserv
