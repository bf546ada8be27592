// The region's certificates as the dispatchers hand them out (security/RegionCa.h makes them):
// join tokens and the certificate a new managed node gets with them, administrators' client
// certificates (issued, listed in the administrator's record, revoked), and a dispatcher's
// renewal of its own.
//
// Only the TMR server holds the CA's key (DBDIR/ssl/ca.key), so every signature is made there.
//
// Join tokens (Tivoli's install password, one-time): "<secret>.<pin>", 32 + 32 hex digits. The
// secret is random; the TMR server keeps only its SHA-256 (meta "join_token:<hash>" = "<expiry>
// <uses left>"), so a copy of the database gives no token away. The pin is the first 128 bits of
// the CA certificate's SHA-256: the joining node checks the CA the TMR server's TLS handshake
// shows against it before it sends the secret, so the token also proves the TMR server to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "Administrators.h"
#include "Database.h"
#include "OservLog.h"

namespace openoserv {

class Certificates {
 public:
  // `ssl_dir`: DBDIR/ssl.
  Certificates(db::Database& db, OservLog& log, Administrators& admins, std::string ssl_dir,
               std::uint32_t region)
      : db_(db), log_(log), admins_(admins), ssl_dir_(std::move(ssl_dir)), region_(region) {}

  // TMR server: a new token good for `uses` joins within `lifetime`.
  std::string new_join_token(unsigned uses, std::chrono::seconds lifetime);
  // TMR server: takes one use of `token`; throws Failure (unknown, expired, used up) otherwise.
  void redeem_join_token(const std::string& token);
  // The pin part of a token for this region's CA.
  static std::string pin_of(const std::string& ca_pem);

  // TMR server: dispatcher `od`'s certificate (address `ip`) for the key of `csr`.
  std::string certify_dispatcher(std::uint32_t od, const std::string& ip, const std::string& csr);
  // TMR server: administrator `name`'s client certificate for the key of `csr`, recorded as
  // valid in its record.
  std::string certify_administrator(const std::string& name, const std::string& csr,
                                    std::chrono::hours lifetime);
  // TMR server: revokes administrator `name`'s certificate `serial` ("all": every one).
  std::string revoke(const std::string& name, const std::string& serial);

  // The region CA's certificate (PEM), and this dispatcher's own.
  std::string ca_pem() const;
  std::string own_certificate() const;
  // Replaces this dispatcher's key and certificate (DBDIR/ssl: self.key, self.pem,
  // identity.pem), for its next start.
  void save_own(const std::string& key_pem, const std::string& cert_pem);
  // The region CA's key (PEM; Failure where it is not): a standby TMR server gets it when it
  // joins, to sign as the TMR server once promoted.
  std::string ca_key() const;

 private:

  db::Database& db_;
  OservLog& log_;
  Administrators& admins_;
  const std::string ssl_dir_;
  const std::uint32_t region_;
  std::mutex tokens_;  // one redemption at a time: a token's uses are counted exactly
};

}  // namespace openoserv
