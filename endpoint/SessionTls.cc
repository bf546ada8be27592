// The endpoint sessions' TLS contexts and the endpoint's check of its gateway.
#include "SessionTls.h"

#include <openssl/ssl.h>

#include <stdexcept>

#include <fmt/core.h>

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
  // No TLS 1.3 session tickets: endpoints do not resume sessions, and a ticket is one more
  // write per login, arriving after the handshake.
  SSL_CTX_set_num_tickets(ctx->native_handle(), 0);
  return ctx;
}

std::unique_ptr<ssl::context> endpoint_tls_context() {
  auto ctx = base_context(ssl::context::tls_client);
  ctx->set_verify_mode(ssl::verify_none);  // check_gateway_chain decides, before any frame
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
