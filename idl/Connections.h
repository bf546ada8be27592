// What omniORB does not say about its connections: the socket under one, and whether its peer
// has closed it. Used by the client interceptor that keeps requests off connections a restarted
// peer closed (OrbInit.cc) and by the server's "has the caller given up?" (RequestContext).
#pragma once

#include <chrono>
#include <cstdint>

namespace omni {
class giopConnection;
}

namespace openoserv {

// The socket of a TCP, TLS or Unix-socket connection; -1 for any other (or none).
int socket_of(const omni::giopConnection* connection);

// True when the peer of `socket` has closed its end (its end of the stream has arrived, behind
// unread bytes or not, or an error is waiting), so nothing sent on it would be answered. Never
// blocks and reads nothing.
bool peer_closed(int socket);

// True when a client's idle connection `socket` (no request outstanding) has anything to read:
// a GIOP server sends nothing unasked but the CloseConnection message that announces its close,
// so the connection is closing, or closed (peer_closed). Never blocks and reads nothing.
bool idle_connection_closing(int socket);

// Gives this process's TCP listening sockets on `port` (the ORB's, bound by now) a TCP user
// timeout, which every connection accepted on them inherits: data of ours that the peer does
// not acknowledge for `timeout` (it stopped reading its replies, or vanished) aborts the
// connection, so that a reply written without a deadline still cannot hold a thread for ever.
// Returns how many listeners it found.
int limit_unacknowledged_data(std::uint16_t port, std::chrono::seconds timeout);

}  // namespace openoserv
