// Join tokens and certificates, at the TMR server.
#include "Certificates.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "Failure.h"
#include "RegionCa.h"
#include "TextFile.h"

namespace openoserv {

namespace {

constexpr const char* kTokenPrefix = "join_token:";
constexpr size_t kHexHalf = 32;  // the secret's and the pin's hex digits each

// Dispatchers' certificates last 825 days (renewed with odadmin renew_cert before then).
constexpr std::chrono::hours kDispatcherLifetime{24 * 825};

std::string read_or_fail(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) fail(fmt::format("{}: cannot read it", path));
  return *text;
}

// The meta key a token is kept under: its secret's SHA-256, never the secret.
std::string token_key(const std::string& secret) {
  return fmt::format("{}{}", kTokenPrefix, tls::sha256_hex(secret));
}

}  // namespace

std::string Certificates::ca_pem() const { return read_or_fail(ssl_dir_ + "/ca.pem"); }
std::string Certificates::own_certificate() const { return read_or_fail(ssl_dir_ + "/self.pem"); }

std::string Certificates::ca_key() const {
  auto key = read_text_file(ssl_dir_ + "/ca.key");
  if (!key)
    fail(fmt::format("{}/ca.key: not here; certificates are signed at the TMR server, which "
                     "holds the region CA's key",
                     ssl_dir_));
  return *key;
}

std::string Certificates::pin_of(const std::string& ca_pem) {
  return tls::fingerprint_of(ca_pem).substr(0, kHexHalf);
}

std::string Certificates::new_join_token(unsigned uses, std::chrono::seconds lifetime) {
  if (uses < 1 || uses > 1000) fail("a join token is good for 1 to 1000 joins");
  if (lifetime.count() < 60 || lifetime.count() > 7 * 86400)
    fail("a join token lives 60 seconds to 7 days");
  ca_key();  // only where the CA is
  const std::string secret = tls::random_hex(kHexHalf / 2);
  const long long expiry = static_cast<long long>(::time(nullptr)) + lifetime.count();
  // Spent and expired tokens are dropped as new ones are made.
  auto txn = db_.begin(nullptr, "join_token");
  for (const auto& [key, value] : db_.scan(db::Table::kMeta)) {
    if (key.rfind(kTokenPrefix, 0) != 0) continue;
    if (std::stoll(value) < ::time(nullptr)) txn->erase(db::Table::kMeta, key);
  }
  txn->put(db::Table::kMeta, token_key(secret),
           fmt::format("{} {}", expiry, uses));
  txn->commit();
  log_.line(fmt::format("join token made: {} join(s) within {} s", uses, lifetime.count()));
  return secret + "." + pin_of(ca_pem());
}

void Certificates::redeem_join_token(const std::string& token) {
  const std::string secret = token.substr(0, std::min(token.find('.'), token.size()));
  const std::string key = token_key(secret);
  std::lock_guard lock(tokens_);
  auto txn = db_.begin(nullptr, "join");
  auto stored = txn->get(db::Table::kMeta, key);
  if (!stored)
    fail("the join token is not one this TMR server made, or it was used up (make one with "
         "'odadmin join_token' at the TMR server)");
  long long expiry = 0;
  unsigned uses = 0;
  if (std::sscanf(stored->c_str(), "%lld %u", &expiry, &uses) != 2 || uses == 0 ||
      expiry < ::time(nullptr)) {
    txn->erase(db::Table::kMeta, key);
    txn->commit();
    fail("the join token has expired (make a new one with 'odadmin join_token' at the TMR "
         "server)");
  }
  if (uses == 1)
    txn->erase(db::Table::kMeta, key);
  else
    txn->put(db::Table::kMeta, key, fmt::format("{} {}", expiry, uses - 1));
  txn->commit();
}

std::string Certificates::certify_dispatcher(std::uint32_t od, const std::string& ip,
                                             const std::string& csr) {
  const tls::Identity ca{ca_key(), ca_pem()};
  try {
    return tls::sign_request(ca,
                             csr,
                             {.kind = tls::Subject::Kind::kDispatcher, .region = region_, .od = od,
                              .name = "", .ip = ip},
                             kDispatcherLifetime);
  } catch (const tls::TlsError& e) {
    fail(fmt::format("no certificate for dispatcher {}: {}", od, e.what()));
  }
}

std::string Certificates::certify_administrator(const std::string& name, const std::string& csr,
                                                std::chrono::hours lifetime) {
  if (lifetime.count() < 1 || lifetime.count() > 24 * 3650)
    fail("a client certificate lasts 1 hour to 10 years");
  if (!admins_.find(name)) fail(fmt::format("no administrator {} (see wgetadmin)", name));
  const tls::Identity ca{ca_key(), ca_pem()};
  std::string cert;
  try {
    cert = tls::sign_request(ca, csr,
                             {.kind = tls::Subject::Kind::kAdministrator, .region = region_,
                              .od = 0, .name = name, .ip = ""},
                             lifetime);
  } catch (const tls::TlsError& e) {
    fail(fmt::format("no certificate for administrator {}: {}", name, e.what()));
  }
  const std::string serial = tls::serial_of(cert);
  admins_.edit_certificates(name, [&](std::vector<std::string>& serials) {
    serials.push_back(serial);
  });
  log_.line(fmt::format("client certificate {} issued to administrator {}", serial, name));
  return cert;
}

std::string Certificates::revoke(const std::string& name, const std::string& serial) {
  size_t revoked = 0;
  admins_.edit_certificates(name, [&](std::vector<std::string>& serials) {
    const size_t before = serials.size();
    std::erase_if(serials, [&](const std::string& s) { return serial == "all" || s == serial; });
    revoked = before - serials.size();
  });
  if (revoked == 0)
    fail(fmt::format("administrator {} has no certificate {} (see wgetadmin {})", name, serial,
                     name));
  log_.line(fmt::format("{} client certificate(s) of administrator {} revoked", revoked, name));
  return fmt::format("Revoked {} certificate(s) of administrator {}; every dispatcher refuses "
                     "them from now on.",
                     revoked, name);
}

void Certificates::save_own(const std::string& key_pem, const std::string& cert_pem) {
  tls::save_self(ssl_dir_, {.key_pem = key_pem, .cert_pem = cert_pem}, ca_pem());
}

}  // namespace openoserv
