// The region CA: certificates it issues verify against it and not against another region's;
// expired ones do not; subjects read back as issued; key files are 0600 in a 0700 directory.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <memory>

#include <fmt/core.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "RegionCa.h"

namespace openoserv::tls {
namespace {

constexpr std::chrono::hours kYear(24 * 365);

TEST(RegionCa, IssuedCertificatesVerifyAgainstTheirRegionOnly) {
  const Identity ca = make_region_ca(1669180253);
  const Identity other = make_region_ca(2000000000);
  const Identity node = issue(ca, {.kind = Subject::Kind::kDispatcher, .region = 1669180253,
                                   .od = 2, .name = "", .ip = "10.0.0.2"},
                              kYear);
  EXPECT_EQ(verify(ca.cert_pem, node.cert_pem), std::nullopt);
  EXPECT_TRUE(verify(other.cert_pem, node.cert_pem)) << "another region's CA";
  EXPECT_TRUE(verify(ca.cert_pem, "garbage")) << "not a certificate";
  const Identity forged = issue(other, {.kind = Subject::Kind::kDispatcher, .region = 1669180253,
                                        .od = 1, .name = "", .ip = ""},
                                kYear);
  EXPECT_TRUE(verify(ca.cert_pem, forged.cert_pem)) << "a look-alike from another CA";
}

TEST(RegionCa, AnExpiredCertificateDoesNotVerify) {
  const Identity ca = make_region_ca(1669180253);
  const Identity old = issue(ca, {.kind = Subject::Kind::kAdministrator, .region = 1669180253,
                                  .od = 0, .name = "Alice", .ip = ""},
                             std::chrono::hours(-2));
  const auto why = verify(ca.cert_pem, old.cert_pem);
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("expired"), std::string::npos) << *why;
}

TEST(RegionCa, SubjectsReadBackAsIssued) {
  const Identity ca = make_region_ca(42);
  const Subject d = subject_of(issue(ca, {.kind = Subject::Kind::kDispatcher, .region = 42, .od = 7,
                                          .name = "", .ip = "127.0.0.7"},
                                     kYear)
                                   .cert_pem);
  EXPECT_EQ(d.kind, Subject::Kind::kDispatcher);
  EXPECT_EQ(d.od, 7u);
  EXPECT_EQ(d.region, 42u);
  const Subject a = subject_of(issue(ca, {.kind = Subject::Kind::kAdministrator, .region = 42,
                                          .od = 0, .name = "Root_black", .ip = ""},
                                     kYear)
                                   .cert_pem);
  EXPECT_EQ(a.kind, Subject::Kind::kAdministrator);
  EXPECT_EQ(a.name, "Root_black");
  EXPECT_FALSE(parse_common_name("od2"));
  EXPECT_FALSE(parse_common_name("od2.region"));
  EXPECT_FALSE(parse_common_name("od2.region12x"));
  EXPECT_EQ(parse_common_name("od12.region5")->od, 12u);
  EXPECT_EQ(parse_common_name("odd.region5")->kind, Subject::Kind::kAdministrator);
}

// A peer's certificate as the TLS layer holds it: read once, then served from the object.
TEST(RegionCa, PeersReadBackFromTheCertificateObject) {
  const Identity ca = make_region_ca(42);
  const Identity node = issue(ca, {.kind = Subject::Kind::kDispatcher, .region = 42, .od = 3,
                                   .name = "", .ip = "127.0.0.3"},
                              kYear);
  auto x509 = [](const std::string& pem) {
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    return std::unique_ptr<X509, decltype(&X509_free)>(cert, X509_free);
  };
  auto cert = x509(node.cert_pem);
  ASSERT_TRUE(cert);
  for (int i = 0; i < 2; ++i) {  // the second from the cache
    const auto peer = peer_of(cert.get());
    ASSERT_TRUE(peer);
    EXPECT_EQ(peer->subject.kind, Subject::Kind::kDispatcher);
    EXPECT_EQ(peer->subject.od, 3u);
    EXPECT_EQ(peer->serial, serial_of(node.cert_pem));
  }
  auto foreign = x509(ca.cert_pem);  // the CA's own: names no subject of ours
  EXPECT_FALSE(peer_of(foreign.get()));
  EXPECT_FALSE(peer_of(foreign.get()));
  EXPECT_FALSE(peer_of(nullptr));
}

TEST(RegionCa, FilesArePrivate) {
  const std::string dir = fmt::format("{}/ca-{}/ssl", ::testing::TempDir(), ::getpid());
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
  const Identity ca = make_region_ca(1);
  save_ca(dir, ca, true);
  save_self(dir,
            issue(ca, {.kind = Subject::Kind::kDispatcher, .region = 1, .od = 1, .name = "",
                       .ip = ""},
                  kYear),
            ca.cert_pem);
  struct stat st {};
  ASSERT_EQ(::stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* f : {"ca.pem", "ca.key", "self.pem", "self.key", "identity.pem"}) {
    ASSERT_EQ(::stat((dir + "/" + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << f;
  }
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}


TEST(RegionCa, SignsARequestWithTheSubjectItChooses) {
  const Identity ca = make_region_ca(42);
  const KeyRequest request = make_request();
  const std::string cert = sign_request(
      ca, request.csr_pem,
      {.kind = Subject::Kind::kAdministrator, .region = 42, .od = 0, .name = "Alice", .ip = ""},
      kYear);
  EXPECT_EQ(verify(ca.cert_pem, cert), std::nullopt);
  const Subject s = subject_of(cert);
  EXPECT_EQ(s.kind, Subject::Kind::kAdministrator);
  EXPECT_EQ(s.name, "Alice");
  EXPECT_EQ(s.region, 42u);
  EXPECT_FALSE(serial_of(cert).empty());
  EXPECT_NE(serial_of(cert), serial_of(sign_request(ca, request.csr_pem,
                                                    {.kind = Subject::Kind::kAdministrator,
                                                     .region = 42, .od = 0, .name = "Alice",
                                                     .ip = ""},
                                                    kYear)));
  EXPECT_GT(expiry_of(cert), ::time(nullptr) + 300 * 86400);
  EXPECT_EQ(fingerprint_of(ca.cert_pem).size(), 64u);
}

TEST(RegionCa, RefusesARequestWhoseSignatureDoesNotVerify) {
  const Identity ca = make_region_ca(42);
  std::string csr = make_request().csr_pem;
  // One base64 character of the signature changed.
  const size_t end = csr.find("-----END");
  ASSERT_NE(end, std::string::npos);
  csr[end - 6] = csr[end - 6] == 'A' ? 'B' : 'A';
  EXPECT_THROW(sign_request(ca, csr,
                            {.kind = Subject::Kind::kDispatcher, .region = 42, .od = 2,
                             .name = "", .ip = ""},
                            kYear),
               TlsError);
  EXPECT_THROW(sign_request(ca, "not a request", {}, kYear), TlsError);
}

TEST(RegionCa, HashesAndRandomness) {
  EXPECT_EQ(sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_NE(random_hex(16), random_hex(16));
}

}  // namespace
}  // namespace openoserv::tls
