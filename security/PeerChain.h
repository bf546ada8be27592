// The certificates a TLS server shows in its handshake, read without trusting any: how a
// joining managed node learns its region's CA, which it then checks against the join token's
// pin (domain/Certificates.h) before it sends the token.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace openoserv::tls {

// The PEM certificates `host`:`port` sends (its own first, then its chain). Throws TlsError
// naming the address when it cannot connect within `timeout` or no TLS handshake completes.
std::vector<std::string> peer_chain(const std::string& host, unsigned short port,
                                    std::chrono::milliseconds timeout);

}  // namespace openoserv::tls
