#include "Connections.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

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

}  // namespace openoserv
