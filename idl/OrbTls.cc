// The SSL transport's options, its refusal log, and the peer's certificate.
#include "OrbTls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <fmt/core.h>
#include <omniORB4/sslContext.h>
#include <omniORB4/sslConnection.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "LogLimit.h"

namespace openoserv {

namespace {

// Written once before ORB_init, read by omniORB's threads afterwards.
std::function<void(const std::string&)> refusal_sink;

// Refusals a second, so that a peer hammering the port cannot flood the log.
LogLimit refusal_limit;

// The handshake runs on one thread: the certificate check's finding waits here for its end.
thread_local std::string verify_finding;

std::string peer_of_socket(int fd) {
  sockaddr_storage addr{};
  socklen_t size = sizeof addr;
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &size) != 0)
    return "an unknown peer";
  char ip[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
    return fmt::format("{}:{}", ip, ntohs(in->sin_port));
  }
  const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
  ::inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
  return fmt::format("[{}]:{}", ip, ntohs(in6->sin6_port));
}

std::string subject_text(X509* cert) {
  if (!cert) return "no certificate";
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

int note_verify(int ok, X509_STORE_CTX* ctx) {
  if (!ok) {
    auto* ssl = static_cast<SSL*>(
        X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
    if (ssl && SSL_is_server(ssl) && verify_finding.empty())
      verify_finding = fmt::format(
          "{} ({})", X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)),
          subject_text(X509_STORE_CTX_get_current_cert(ctx)));
  }
  return ok;
}

void note_handshake(const SSL* ssl, int where, int ret) {
  if (!(where & SSL_CB_EXIT) || ret > 0 || !SSL_is_server(const_cast<SSL*>(ssl))) return;
  const unsigned long error = ERR_peek_error();
  if (error == 0) return;  // not a failure: the handshake waits for more bytes
  std::string reason = ERR_reason_error_string(error) ? ERR_reason_error_string(error) : "failed";
  if (ERR_GET_REASON(error) == SSL_R_WRONG_VERSION_NUMBER ||
      ERR_GET_REASON(error) == SSL_R_HTTP_REQUEST)
    reason += " (not TLS: a plain IIOP client?)";
  if (!verify_finding.empty()) reason += ": " + verify_finding;
  verify_finding.clear();
  if (!refusal_sink) return;
  refusal_limit.write(refusal_sink,
                      fmt::format("TLS handshake refused from {}: {}",
                                  peer_of_socket(SSL_get_fd(ssl)), reason),
                      "TLS handshake refusals");
}

}  // namespace

OrbOptions tls_options(const TlsFiles& files) {
  // The SSL transport registers itself when linked in; naming a symbol keeps it linked.
  sslContext::verify_callback = note_verify;
  sslContext::info_callback = note_handshake;
  OrbOptions options = {{"sslCAFile", files.ca},
                        // Verify the peer's certificate when it shows one; a client may show
                        // none (the access check then lets it ping only).
                        {"sslVerifyMode", "peer"}};
  if (!files.identity.empty()) {
    options.emplace_back("sslKeyFile", files.identity);
    // omniORB 4.2 loads the private key only when a password is set; ours are not encrypted,
    // so any value does.
    options.emplace_back("sslKeyPassword", "unencrypted");
  }
  return options;
}

void on_tls_refusal(std::function<void(const std::string&)> sink) { refusal_sink = std::move(sink); }

const x509_st* peer_certificate(const omni::giopConnection* connection) {
  const auto* ssl = dynamic_cast<const omni::sslConnection*>(connection);
  if (!ssl || !ssl->ssl_handle()) return nullptr;
  if (SSL_get_verify_result(ssl->ssl_handle()) != X509_V_OK) return nullptr;
  return SSL_get0_peer_certificate(ssl->ssl_handle());
}

}  // namespace openoserv
