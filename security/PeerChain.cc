// A TLS handshake that verifies nothing and keeps what the server showed.
#include "PeerChain.h"

#include <poll.h>
#include <unistd.h>

#include <memory>

#include <fmt/core.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "HostPort.h"
#include "RegionCa.h"
#include "UniqueFd.h"

namespace openoserv::tls {

namespace {

using Ctx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
using Ssl = std::unique_ptr<SSL, decltype(&SSL_free)>;

UniqueFd connect_to(const std::string& host, unsigned short port, std::chrono::milliseconds limit) {
  try {
    return connect_within(host, port, limit);
  } catch (const std::runtime_error& e) {
    throw TlsError(e.what());
  }
}

}  // namespace

std::vector<std::string> peer_chain(const std::string& host, unsigned short port,
                                    std::chrono::milliseconds timeout) {
  UniqueFd fd = connect_to(host, port, timeout);
  Ctx ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (!ctx) throw TlsError("cannot make a TLS context");
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // what it shows is checked after
  Ssl ssl(SSL_new(ctx.get()), SSL_free);
  if (!ssl || SSL_set_fd(ssl.get(), fd.get()) != 1) throw TlsError("cannot make a TLS session");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const int rc = SSL_connect(ssl.get());
    if (rc == 1) break;
    const int err = SSL_get_error(ssl.get(), rc);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) || left.count() <= 0) {
      char reason[256] = "timed out";
      if (const unsigned long e = ERR_get_error()) ERR_error_string_n(e, reason, sizeof reason);
      ERR_clear_error();
      throw TlsError(fmt::format("no TLS handshake with {}:{}: {}", host, port, reason));
    }
    pollfd p{fd.get(), static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
  std::vector<std::string> pems;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl.get());
  for (int i = 0; chain && i < sk_X509_num(chain); ++i)
    pems.push_back(certificate_pem(sk_X509_value(chain, i)));
  SSL_shutdown(ssl.get());
  return pems;
}

}  // namespace openoserv::tls
