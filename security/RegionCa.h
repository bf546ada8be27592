// The region's certificate authority and the certificates it issues (OpenSSL 3), for TLS with
// mutual authentication between dispatchers and for remote administrators.
//
// A region has one CA: an EC P-256 key and a self-signed certificate, made by oinstall of the
// TMR server and kept with its database (so it fails over with the shared disk). It issues:
//   dispatchers      CN "od<N>.region<R>",     OU "dispatcher",    SAN the dispatcher's address
//   administrators   CN "<name>.region<R>",    OU "administrator"
// A peer's role and name are read back from a verified certificate (peer_of), never from what
// the peer says.
//
// Files (directory DBDIR/ssl, 0700; every file 0600): ca.pem, ca.key (the TMR server only),
// self.pem, self.key (this dispatcher's own).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace openoserv::tls {

// A key and its certificate, PEM-encoded.
struct Identity {
  std::string key_pem;
  std::string cert_pem;
};

// What a certificate names, and whom it was issued to.
struct Subject {
  enum class Kind { kDispatcher, kAdministrator };
  Kind kind = Kind::kDispatcher;
  std::uint32_t region = 0;
  std::uint32_t od = 0;    // dispatchers
  std::string name;        // administrators
  std::string ip;          // dispatchers: their address (subjectAltName), may be empty
};

// Something OpenSSL refused or a file that could not be read or written; the message names it.
struct TlsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A new region CA, valid for `lifetime`.
Identity make_region_ca(std::uint32_t region, std::chrono::hours lifetime = std::chrono::hours(24 * 3650));

// A certificate for `subject`, signed by `ca`, valid from an hour ago (clock skew between hosts)
// for `lifetime` (negative: already expired, for tests of expiry).
Identity issue(const Identity& ca, const Subject& subject, std::chrono::hours lifetime);

// Why `cert_pem` is not a valid certificate of the region whose CA is `ca_pem` (expired, signed
// by another CA, not parseable), or nullopt when it is.
std::optional<std::string> verify(const std::string& ca_pem, const std::string& cert_pem);

// The subject a certificate names (its CN and OU), without verifying it.
Subject subject_of(const std::string& cert_pem);
// Parses a CN as issued ("od2.region1234567890", "Alice.region1234567890").
std::optional<Subject> parse_common_name(const std::string& cn);

// Writes `text` to `path` with mode 0600 (created or replaced atomically).
void write_private(const std::string& path, const std::string& text);
// The region's files under `dir` (created 0700): the CA (with its key when `with_key`) and a
// dispatcher's own identity.
void save_ca(const std::string& dir, const Identity& ca, bool with_key);
void save_self(const std::string& dir, const Identity& self);

}  // namespace openoserv::tls
