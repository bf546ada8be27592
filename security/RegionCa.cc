// Region CA with OpenSSL 3: keys, certificates, verification, files.
#include "RegionCa.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <ctime>
#include <memory>
#include <mutex>

#include <fmt/core.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace openoserv::tls {

std::string certificate_pem(const x509_st* cert) {
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new(BIO_s_mem()), BIO_free_all);
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1)
    throw TlsError("cannot encode a certificate");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Request = std::unique_ptr<X509_REQ, Deleter<X509_REQ, X509_REQ_free>>;
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;

// OpenSSL's own reason for the last failure, for messages.
std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  if (!e) return "no detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

[[noreturn]] void fail(const std::string& what) {
  throw TlsError(fmt::format("{}: {}", what, openssl_error()));
}

Key new_key() {
  Key key(EVP_EC_gen("P-256"));
  if (!key) fail("cannot make an EC P-256 key");
  return key;
}

std::string pem_of(const Cert& cert) { return certificate_pem(cert.get()); }

std::string pem_of(const Key& key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1)
    fail("cannot encode a key");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

Cert cert_from(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Cert cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) fail("not a PEM certificate");
  return cert;
}

Key key_from(const std::string& pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  Key key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!key) fail("not a PEM private key");
  return key;
}

std::string common_name(const Subject& s) {
  if (s.kind == Subject::Kind::kDispatcher) return fmt::format("od{}.region{}", s.od, s.region);
  return fmt::format("{}.region{}", s.name, s.region);
}

void add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) fail(fmt::format("cannot make certificate extension {}", value));
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (ok != 1) fail(fmt::format("cannot add certificate extension {}", value));
}

// A certificate for `key` named `cn`/`ou`, valid from an hour ago for `lifetime`, not yet signed;
// its issuer name is the issuer's subject (its own when `issuer` is null).
Cert new_cert(EVP_PKEY* key, const std::string& cn, const std::string& ou, X509* issuer,
              std::chrono::hours lifetime) {
  Cert cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) fail("cannot make a certificate");
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) fail("no random serial number");
  serial[0] &= 0x7F;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  ASN1_INTEGER* sn = bn ? BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) : nullptr;
  BN_free(bn);
  if (!sn) fail("cannot set a serial number");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                  static_cast<long>(std::chrono::seconds(lifetime).count()));
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("openoserv"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(ou.c_str()), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (X509_set_pubkey(cert.get(), key) != 1) fail("cannot set a certificate's key");
  return cert;
}

void sign(X509* cert, EVP_PKEY* key) {
  if (X509_sign(cert, key, EVP_sha256()) <= 0) fail("cannot sign a certificate");
}

std::string entry(X509_NAME* name, int nid) {
  const int i = X509_NAME_get_index_by_NID(name, nid, -1);
  if (i < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return out;
}

// The serial number in upper-case hex, as `openssl x509 -serial` prints it.
std::string serial_text(const X509* cert) {
  BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr);
  char* hex = bn ? BN_bn2hex(bn) : nullptr;
  std::string out = hex ? hex : "";
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

}  // namespace

Identity make_region_ca(std::uint32_t region, std::chrono::hours lifetime) {
  Key key = new_key();
  Cert cert = new_cert(key.get(), fmt::format("region{} CA", region), "ca", nullptr, lifetime);
  add_extension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
  add_extension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  add_extension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  sign(cert.get(), key.get());
  return {pem_of(key), pem_of(cert)};
}

namespace {

// A certificate for `key` naming `subject`, signed by the CA.
std::string certify(const Identity& ca, EVP_PKEY* key, const Subject& subject,
                    std::chrono::hours lifetime) {
  Key ca_key = key_from(ca.key_pem);
  Cert ca_cert = cert_from(ca.cert_pem);
  const bool dispatcher = subject.kind == Subject::Kind::kDispatcher;
  Cert cert = new_cert(key, common_name(subject), dispatcher ? "dispatcher" : "administrator",
                       ca_cert.get(), lifetime);
  add_extension(cert.get(), ca_cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_extension(cert.get(), ca_cert.get(), NID_key_usage, "critical,digitalSignature");
  add_extension(cert.get(), ca_cert.get(), NID_ext_key_usage,
                dispatcher ? "serverAuth,clientAuth" : "clientAuth");
  add_extension(cert.get(), ca_cert.get(), NID_authority_key_identifier, "keyid:always");
  if (dispatcher && !subject.ip.empty())
    add_extension(cert.get(), ca_cert.get(), NID_subject_alt_name, "IP:" + subject.ip);
  sign(cert.get(), ca_key.get());
  return pem_of(cert);
}

}  // namespace

Identity issue(const Identity& ca, const Subject& subject, std::chrono::hours lifetime) {
  Key key = new_key();
  return {pem_of(key), certify(ca, key.get(), subject, lifetime)};
}

KeyRequest make_request() {
  Key key = new_key();
  Request req(X509_REQ_new());
  if (!req || X509_REQ_set_version(req.get(), 0) != 1 ||
      X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req.get()), "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>("request"), -1, -1,
                                 0) != 1 ||
      X509_REQ_set_pubkey(req.get(), key.get()) != 1 ||
      X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0)
    fail("cannot make a certificate request");
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_REQ(bio.get(), req.get()) != 1)
    fail("cannot encode a certificate request");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return {pem_of(key), std::string(data, static_cast<size_t>(n))};
}

std::string sign_request(const Identity& ca, const std::string& csr_pem, const Subject& subject,
                         std::chrono::hours lifetime) {
  Bio bio(BIO_new_mem_buf(csr_pem.data(), static_cast<int>(csr_pem.size())));
  Request req(bio ? PEM_read_bio_X509_REQ(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!req) fail("not a PEM certificate request");
  Key key(X509_REQ_get_pubkey(req.get()));
  if (!key || X509_REQ_verify(req.get(), key.get()) != 1)
    fail("the certificate request's signature does not verify");
  return certify(ca, key.get(), subject, lifetime);
}

std::string serial_of(const std::string& cert_pem) {
  Cert cert = cert_from(cert_pem);
  return serial_text(cert.get());
}

std::string fingerprint_of(const std::string& cert_pem) {
  Cert cert = cert_from(cert_pem);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert.get(), EVP_sha256(), md, &n) != 1) fail("cannot hash a certificate");
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

long long expiry_of(const std::string& cert_pem) {
  Cert cert = cert_from(cert_pem);
  tm when{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &when) != 1)
    fail("cannot read a certificate's expiry");
  return static_cast<long long>(timegm(&when));
}

std::string expiry_date(const std::string& cert_pem) {
  const time_t when = static_cast<time_t>(expiry_of(cert_pem));
  tm utc{};
  gmtime_r(&when, &utc);
  return fmt::format("{:04}-{:02}-{:02}", utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday);
}

namespace {

std::optional<Peer> read_peer(const x509_st* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  const std::string cn = entry(name, NID_commonName), ou = entry(name, NID_organizationalUnitName);
  auto s = parse_common_name(cn);
  if (!s || (ou == "dispatcher") != (s->kind == Subject::Kind::kDispatcher)) return std::nullopt;
  return Peer{*s, serial_text(cert)};
}

// What read_peer found, kept with the certificate object (OpenSSL's ex_data: freed with it), so
// that a connection's requests parse its peer's certificate once, not once each.
using CachedPeer = std::optional<Peer>;
void free_cached_peer(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<CachedPeer*>(ptr);
}
int cached_peer_index() {
  static const int index = X509_get_ex_new_index(0, nullptr, nullptr, nullptr, free_cached_peer);
  return index;
}
// Requests of one connection may run on several threads, and a resumed session shares its
// certificate object between connections.
std::mutex cached_peer_mutex;

}  // namespace

std::optional<Peer> peer_of(const x509_st* cert) {
  if (!cert) return std::nullopt;
  const int index = cached_peer_index();
  if (index < 0) return read_peer(cert);
  auto* x509 = const_cast<X509*>(cert);  // ex_data is bookkeeping, not the certificate
  std::lock_guard lock(cached_peer_mutex);
  if (auto* cached = static_cast<CachedPeer*>(X509_get_ex_data(x509, index))) return *cached;
  auto fresh = std::make_unique<CachedPeer>(read_peer(cert));
  CachedPeer result = *fresh;
  if (X509_set_ex_data(x509, index, fresh.get()) == 1) fresh.release();  // the certificate's now
  return result;
}

std::optional<std::string> verify(const std::string& ca_pem, const std::string& cert_pem) {
  try {
    Cert ca = cert_from(ca_pem), cert = cert_from(cert_pem);
    Store store(X509_STORE_new());
    StoreCtx ctx(X509_STORE_CTX_new());
    if (!store || !ctx || X509_STORE_add_cert(store.get(), ca.get()) != 1 ||
        X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1)
      fail("cannot set up a certificate check");
    if (X509_verify_cert(ctx.get()) == 1) return std::nullopt;
    return X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  } catch (const TlsError& e) {
    return e.what();
  }
}

std::optional<Subject> parse_common_name(const std::string& cn) {
  const size_t dot = cn.rfind(".region");
  if (dot == std::string::npos || dot == 0) return std::nullopt;
  Subject s;
  try {
    size_t used = 0;
    const std::string digits = cn.substr(dot + 7);
    const unsigned long region = std::stoul(digits, &used);
    if (used != digits.size() || region > 0xFFFFFFFFul) return std::nullopt;
    s.region = static_cast<std::uint32_t>(region);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string who = cn.substr(0, dot);
  if (who.size() > 2 && who.rfind("od", 0) == 0 &&
      who.find_first_not_of("0123456789", 2) == std::string::npos) {
    s.kind = Subject::Kind::kDispatcher;
    s.od = static_cast<std::uint32_t>(std::stoul(who.substr(2)));
  } else {
    s.kind = Subject::Kind::kAdministrator;
    s.name = who;
  }
  return s;
}

Subject subject_of(const std::string& cert_pem) {
  Cert cert = cert_from(cert_pem);
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = entry(name, NID_commonName), ou = entry(name, NID_organizationalUnitName);
  auto s = parse_common_name(cn);
  if (!s) throw TlsError(fmt::format("certificate CN '{}' names no dispatcher or administrator", cn));
  const bool dispatcher = ou == "dispatcher";
  if (dispatcher != (s->kind == Subject::Kind::kDispatcher))
    throw TlsError(fmt::format("certificate CN '{}' does not match its OU '{}'", cn, ou));
  return *s;
}

bool is_sha256_hex(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1)
    fail("cannot hash");
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1)
    fail("no random bytes");
  std::string hex;
  for (unsigned char c : raw) hex += fmt::format("{:02x}", c);
  return hex;
}

void write_private(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".new";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw TlsError(fmt::format("cannot create {}: {}", tmp, std::strerror(errno)));
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                  ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw TlsError(fmt::format("cannot write {}: {}", path, std::strerror(ok ? errno : saved)));
  }
}

namespace {
void make_private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec || ::chmod(dir.c_str(), 0700) != 0)
    throw TlsError(fmt::format("cannot create {}: {}", dir, ec ? ec.message() : std::strerror(errno)));
}
}  // namespace

void save_ca(const std::string& dir, const Identity& ca, bool with_key) {
  make_private_dir(dir);
  write_private(dir + "/ca.pem", ca.cert_pem);
  if (with_key) write_private(dir + "/ca.key", ca.key_pem);
}

std::string identity_bundle(const Identity& self, const std::string& ca_pem) {
  return self.cert_pem + ca_pem + self.key_pem;
}

void save_self(const std::string& dir, const Identity& self, const std::string& ca_pem) {
  make_private_dir(dir);
  write_private(dir + "/self.key", self.key_pem);
  write_private(dir + "/self.pem", self.cert_pem);
  write_private(dir + "/identity.pem", identity_bundle(self, ca_pem));
}

}  // namespace openoserv::tls
