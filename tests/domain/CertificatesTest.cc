// Join tokens and certificates at the TMR server, without an ORB: a token's uses are counted,
// an unknown, spent or expired token is refused; an administrator's client certificate is
// recorded in its record (which reaches the nodes) and revoked from it; wsetadmin keeps the
// certificates; only the TMR server signs.
#include <gtest/gtest.h>

#include <ctime>

#include "InProcessRegion.h"
#include "RegionCa.h"

namespace openoserv {
namespace {

using testing::InProcessRegion;
using testing::eventually;

// The region CA and the TMR server's own identity in its DBDIR/ssl, as oinstall makes them.
void found_ca(InProcessRegion& r) {
  const tls::Identity ca = tls::make_region_ca(InProcessRegion::kRegion);
  const std::string ssl = r.tmr().info.instance.dbdir + "/ssl";
  tls::save_ca(ssl, ca, true);
  tls::save_self(ssl,
                 tls::issue(ca,
                            {.kind = tls::Subject::Kind::kDispatcher,
                             .region = InProcessRegion::kRegion, .od = 1, .name = "",
                             .ip = "127.0.0.1"},
                            std::chrono::hours(24)),
                 ca.cert_pem);
}

TEST(Certificates, AJoinTokenIsGoodForItsUsesOnly) {
  InProcessRegion r("cert_token");
  found_ca(r);
  auto& certs = r.tmr().certificates;
  const std::string token = certs.new_join_token(2, std::chrono::seconds(3600));
  ASSERT_EQ(token.size(), 65u);
  EXPECT_EQ(token.substr(33), Certificates::pin_of(certs.ca_pem()));
  certs.redeem_join_token(token);
  certs.redeem_join_token(token);
  EXPECT_THROW(certs.redeem_join_token(token), Failure);
  EXPECT_THROW(certs.redeem_join_token(std::string(32, '0') + "." + token.substr(33)), Failure);
  EXPECT_THROW(certs.new_join_token(0, std::chrono::seconds(3600)), Failure);
  EXPECT_THROW(certs.new_join_token(1, std::chrono::seconds(10)), Failure);
}

TEST(Certificates, AnExpiredTokenIsRefusedAndDropped) {
  InProcessRegion r("cert_expired");
  found_ca(r);
  auto& tmr = r.tmr();
  const std::string token = tmr.certificates.new_join_token(5, std::chrono::seconds(3600));
  const std::string key = fmt::format("join_token:{}", tls::sha256_hex(token.substr(0, 32)));
  ASSERT_TRUE(tmr.db.get_meta(key));
  tmr.db.put_meta(key, fmt::format("{} 5", ::time(nullptr) - 1));
  EXPECT_THROW(tmr.certificates.redeem_join_token(token), Failure);
  EXPECT_FALSE(tmr.db.get_meta(key)) << "the expired token was kept";
}

TEST(Certificates, ClientCertificatesAreRecordedSentAndRevoked) {
  InProcessRegion r("cert_admin");
  found_ca(r);
  auto& tmr = r.tmr();
  auto& n2 = r.add_node();
  tmr.administrators.set({.name = "Alice", .logins = {}, .roles = kRoleUser}, true);
  const tls::KeyRequest request = tls::make_request();
  const std::string cert =
      tmr.certificates.certify_administrator("Alice", request.csr_pem, std::chrono::hours(24));
  EXPECT_EQ(tls::verify(tmr.certificates.ca_pem(), cert), std::nullopt);
  EXPECT_EQ(tls::subject_of(cert).name, "Alice");
  const std::string serial = tls::serial_of(cert);
  EXPECT_EQ(tmr.administrators.find("Alice")->certificates, std::vector<std::string>{serial});
  EXPECT_TRUE(eventually([&] {
    auto a = n2.administrators.find("Alice");
    return a && a->certificates == std::vector<std::string>{serial};
  })) << "the node never learnt of the certificate";
  // wsetadmin changes roles and logins, never the certificates.
  tmr.administrators.set({.name = "Alice", .logins = {"alice"}, .roles = kRoleAdmin}, false);
  EXPECT_EQ(tmr.administrators.find("Alice")->certificates.size(), 1u);
  EXPECT_THROW(tmr.certificates.revoke("Alice", "00"), Failure);
  tmr.certificates.revoke("Alice", serial);
  EXPECT_TRUE(tmr.administrators.find("Alice")->certificates.empty());
  EXPECT_TRUE(eventually([&] { return n2.administrators.find("Alice")->certificates.empty(); }))
      << "the node still takes the revoked certificate";
  EXPECT_THROW(
      tmr.certificates.certify_administrator("Nobody", request.csr_pem, std::chrono::hours(24)),
      Failure);
  // A node holds no CA key: it signs nothing.
  EXPECT_THROW(n2.certificates.new_join_token(1, std::chrono::seconds(3600)), Failure);
}

}  // namespace
}  // namespace openoserv
