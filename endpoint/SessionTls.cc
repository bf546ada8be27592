// The endpoint sessions' TLS contexts and the endpoint's check of its gateway.
#include "SessionTls.h"

#include <openssl/hmac.h>
#include <openssl/ssl.h>

#include <array>
#include <stdexcept>

#include <fmt/core.h>

#include "Link.h"
#include "RegionCa.h"

namespace openoserv::lcf {

namespace {

std::unique_ptr<ssl::context> base_context(ssl::context::method method) {
  auto ctx = std::make_unique<ssl::context>(method);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // Idle sessions give their buffers back: a gateway holds thousands of them.
  SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

// The keys that seal the gateway's session tickets, derived from its private key: the same
// after a restart (so endpoints resume the sessions a crashed gateway issued), unknown to anyone
// without that key. 80 bytes: a name, an HMAC key and an AES key (SSL_CTX_set_tlsext_ticket_keys).
std::array<unsigned char, 80> ticket_keys(SSL_CTX* ctx, const std::string& identity_file) {
  struct Der {  // the key's encoding, wiped when freed
    unsigned char* bytes = nullptr;
    int size = 0;
    ~Der() { OPENSSL_clear_free(bytes, size > 0 ? static_cast<std::size_t>(size) : 0); }
  } der;
  EVP_PKEY* key = SSL_CTX_get0_privatekey(ctx);
  der.size = key ? i2d_PrivateKey(key, &der.bytes) : -1;
  const int n = der.size;
  if (n <= 0) throw std::runtime_error(fmt::format("{}: its private key cannot be read", identity_file));
  std::array<unsigned char, 80> out{};
  for (int part = 0; part < 3; ++part) {
    const std::string label = fmt::format("openoserv endpoint session tickets {}", part);
    unsigned char mac[32];
    unsigned int len = sizeof mac;
    if (!HMAC(EVP_sha256(), der.bytes, n, reinterpret_cast<const unsigned char*>(label.data()),
              label.size(), mac, &len))
      throw std::runtime_error(fmt::format("{}: session ticket keys: HMAC failed", identity_file));
    std::copy(mac, mac + std::min<std::size_t>(32, out.size() - part * 32), out.begin() + part * 32);
    OPENSSL_cleanse(mac, sizeof mac);
  }
  return out;
}

}  // namespace

std::unique_ptr<ssl::context> gateway_tls_context(const std::string& identity_file) {
  auto ctx = base_context(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(identity_file, ec);
  if (!ec) ctx->use_private_key_file(identity_file, ssl::context::pem, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("{}: cannot be used for endpoint sessions: {}", identity_file, ec.message()));
  ctx->set_verify_mode(ssl::verify_none);
  // One TLS 1.3 session ticket per session, sealed with keys derived from the gateway's key and
  // kept by nobody but the endpoint (no session cache here): after a gateway restarts, its
  // endpoints resume instead of a full handshake each, a fraction of the CPU at both ends (a
  // new key exchange still, so a stolen ticket key reveals no session). Valid for a week,
  // TLS 1.3's longest, and renewed daily on a session that lasts (Link::tick).
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_num_tickets(native, 1);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_timeout(native, kTicketLifetime.count());
  auto keys = ticket_keys(native, identity_file);
  const bool set = SSL_CTX_set_tlsext_ticket_keys(native, keys.data(), keys.size()) == 1;
  OPENSSL_cleanse(keys.data(), keys.size());
  if (!set) throw std::runtime_error(fmt::format("{}: session ticket keys not taken", identity_file));
  return ctx;
}

std::unique_ptr<ssl::context> endpoint_tls_context() {
  auto ctx = base_context(ssl::context::tls_client);
  ctx->set_verify_mode(ssl::verify_none);  // check_gateway_chain decides, before any frame
  // The gateway's tickets go to the connection's Link (its on_ticket), not to a cache here.
  SSL_CTX_set_session_cache_mode(ctx->native_handle(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx->native_handle(), &Link::ticket_arrived);
  return ctx;
}

std::string check_gateway_chain(const std::vector<std::string>& chain, const std::string& trusted) {
  if (chain.size() < 2)
    throw std::runtime_error("the gateway showed no region CA with its certificate");
  const std::string& ca = chain.back();
  const std::string fingerprint = tls::fingerprint_of(ca);
  if (!trusted.empty() && fingerprint != trusted)
    throw std::runtime_error(fmt::format(
        "the gateway's region CA (SHA-256 {}) is not the one this endpoint trusts ({})",
        fingerprint.substr(0, 16), trusted.substr(0, 16)));
  if (auto why = tls::verify(ca, chain.front()))
    throw std::runtime_error(fmt::format("the gateway's certificate: {}", *why));
  if (tls::subject_of(chain.front()).kind != tls::Subject::Kind::kDispatcher)
    throw std::runtime_error("the gateway's certificate is not a dispatcher's");
  return fingerprint;
}

}  // namespace openoserv::lcf
