// The web server over HTTPS (common/WebServer.h with Tls), as the console uses it: a client of
// the region shows its certificate and the handler reads it back; no certificate reaches the
// handler as none; another CA's, or an expired one, never gets past the handshake.
#include <utility>

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <filesystem>
#include <optional>
#include <string>

#include "RegionCa.h"
#include "WebServer.h"

namespace openoserv {
namespace {

namespace asio = boost::asio;
constexpr std::uint32_t kRegion = 1669180253;
constexpr std::chrono::hours kYear(24 * 365);

struct Files {
  std::filesystem::path dir;
  Files() {
    char tmpl[] = "/tmp/webtls.XXXXXX";
    dir = ::mkdtemp(tmpl);
  }
  ~Files() { std::filesystem::remove_all(dir); }
  std::string write(const std::string& name, const std::string& text) const {
    const std::string path = dir / name;
    tls::write_private(path, text);
    return path;
  }
};

// GET / over TLS, trusting `ca_pem`, showing `identity` (cert then key) if given. The status
// line, or nullopt when the handshake fails.
std::optional<std::string> get(const std::string& address, const std::string& ca_pem,
                               const std::optional<tls::Identity>& identity) {
  asio::io_context io;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (identity) {
    ctx.use_certificate(asio::buffer(identity->cert_pem), asio::ssl::context::pem);
    ctx.use_private_key(asio::buffer(identity->key_pem), asio::ssl::context::pem);
  }
  asio::ssl::stream<asio::ip::tcp::socket> s(io, ctx);
  const auto colon = address.rfind(':');
  s.next_layer().connect({asio::ip::make_address(address.substr(0, colon)),
                          static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))});
  boost::system::error_code ec;
  s.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return std::nullopt;
  const std::string request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(s, asio::buffer(request), ec);
  std::string out;
  char buf[4096];
  while (std::size_t n = s.read_some(asio::buffer(buf), ec)) out.append(buf, n);
  // Read past the status line: TLS 1.3 sends the verdict on a client certificate after the
  // client's handshake is done, so a refused one shows here as no answer.
  if (out.empty()) return std::nullopt;
  return out.substr(0, out.find("\r\n")) + " " + out.substr(out.find("\r\n\r\n") + 4);
}

class WebServerTls : public ::testing::Test {
 protected:
  Files files;
  tls::Identity ca = tls::make_region_ca(kRegion);
  std::unique_ptr<web::Server> server;

  void SetUp() override {
    const tls::Identity self = tls::issue(
        ca, {.kind = tls::Subject::Kind::kDispatcher, .region = kRegion, .od = 1, .name = "", .ip = "127.0.0.1"},
        kYear);
    const std::string identity = files.write("identity.pem", tls::identity_bundle(self, ca.cert_pem));
    const std::string ca_file = files.write("ca.pem", ca.cert_pem);
    server = std::make_unique<web::Server>(
        "127.0.0.1",
        [](const web::Request& r) {
          const auto peer = tls::peer_of(r.certificate);
          return web::Response{.body = peer ? peer->subject.name : "none"};
        },
        web::Options{.what = "console",
                     .tls = web::Tls{.certificate = identity, .key = identity, .client_ca = ca_file}});
  }

  tls::Identity admin(const tls::Identity& by, std::chrono::hours lifetime) {
    return tls::issue(by, {.kind = tls::Subject::Kind::kAdministrator, .region = kRegion, .od = 0,
                           .name = "Alice", .ip = ""},
                      lifetime);
  }
};

TEST_F(WebServerTls, TheHandlerReadsTheClientsCertificate) {
  EXPECT_EQ(get(server->address(), ca.cert_pem, admin(ca, kYear)), "HTTP/1.1 200 OK Alice");
}

TEST_F(WebServerTls, NoCertificateReachesTheHandlerAsNone) {
  EXPECT_EQ(get(server->address(), ca.cert_pem, std::nullopt), "HTTP/1.1 200 OK none");
}

TEST_F(WebServerTls, AnotherCasOrAnExpiredCertificateIsRefusedInTheHandshake) {
  const tls::Identity other = tls::make_region_ca(kRegion);  // same names, another key
  EXPECT_EQ(get(server->address(), ca.cert_pem, admin(other, kYear)), std::nullopt);
  EXPECT_EQ(get(server->address(), ca.cert_pem, admin(ca, std::chrono::hours(-2))), std::nullopt);
}

}  // namespace
}  // namespace openoserv
