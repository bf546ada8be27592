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
// Keys are made where they are used: a joining node or an administrator's client makes its key
// and a certificate request (make_request); only the request travels, and the CA signs it
// (sign_request) with the subject the CA decides, never the one the request asks for.
//
// Files (directory DBDIR/ssl, 0700; every file 0600): ca.pem, ca.key (the TMR server only),
// self.pem, self.key (this dispatcher's own), identity.pem (certificate, CA, key: the bundle
// omniORB's SSL transport loads; the CA in it is sent along, so a joining node can pin it).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

struct x509_st;

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

// A new key and a certificate request for it (its subject is a placeholder: the CA names it).
struct KeyRequest {
  std::string key_pem;
  std::string csr_pem;
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

KeyRequest make_request();
// A certificate for the key of `csr_pem` (whose self-signature must verify), naming `subject`.
std::string sign_request(const Identity& ca, const std::string& csr_pem, const Subject& subject,
                         std::chrono::hours lifetime);

// The serial number in hex ("5A0F..."), the SHA-256 fingerprint of the DER encoding in hex,
// and the expiry as seconds since the epoch.
std::string serial_of(const std::string& cert_pem);
std::string fingerprint_of(const std::string& cert_pem);
long long expiry_of(const std::string& cert_pem);
// The expiry as a UTC date, "2028-03-01".
std::string expiry_date(const std::string& cert_pem);

// A verified peer's certificate as the TLS layer holds it (OpenSSL's X509): its subject (CN and
// OU must agree) and serial. nullopt for a certificate that names no subject of ours.
struct Peer {
  Subject subject;
  std::string serial;
};
std::optional<Peer> peer_of(const x509_st* cert);
// A certificate the TLS layer holds, PEM-encoded.
std::string certificate_pem(const x509_st* cert);

// Why `cert_pem` is not a valid certificate of the region whose CA is `ca_pem` (expired, signed
// by another CA, not parseable), or nullopt when it is.
std::optional<std::string> verify(const std::string& ca_pem, const std::string& cert_pem);

// The subject a certificate names (its CN and OU), without verifying it.
Subject subject_of(const std::string& cert_pem);
// Parses a CN as issued ("od2.region1234567890", "Alice.region1234567890").
std::optional<Subject> parse_common_name(const std::string& cn);

// SHA-256 of `data` in hex; `bytes` random bytes in hex (OpenSSL's generator).
std::string sha256_hex(const std::string& data);
// True when `text` has sha256_hex's form: 64 lowercase hex digits (a program's digest; a file name).
bool is_sha256_hex(const std::string& text);
std::string random_hex(size_t bytes);

// Writes `text` to `path` with mode 0600 (created or replaced atomically).
void write_private(const std::string& path, const std::string& text);
// The region's files under `dir` (created 0700): the CA (with its key when `with_key`) and a
// dispatcher's own identity.
void save_ca(const std::string& dir, const Identity& ca, bool with_key);
// save_self also writes identity.pem (certificate, then the CA, then the key).
void save_self(const std::string& dir, const Identity& self, const std::string& ca_pem);
// The bundle identity.pem holds.
std::string identity_bundle(const Identity& self, const std::string& ca_pem);

}  // namespace openoserv::tls
