// TLS on omniORB's SSL transport (libomnisslTP4, OpenSSL), as every openoserv process uses it.
//
// One SSL context per process (omniORB's), made at ORB_init from two files: the region CA's
// certificate (the only one trusted) and the process's own identity bundle (certificate, CA,
// key: DBDIR/ssl/identity.pem for a dispatcher, an administrator's certificate file for a
// remote client; none for an anonymous client). Both ends verify the other's certificate when
// it presents one; a server accepts a client without one (it may then only ping: the access
// check decides, oserv/Authorization), so a handshake fails only for a certificate that is not
// the region's (another CA, expired, altered) or for a peer that does not speak TLS.
#pragma once

#include <functional>
#include <string>

#include "OrbInit.h"

namespace omni {
class giopConnection;
}
struct x509_st;

namespace openoserv {

struct TlsFiles {
  std::string ca;        // PEM: the CA certificate(s) to trust
  std::string identity;  // PEM: certificate, chain, key; empty: no certificate (anonymous)
};

// The omniORB options for `files` (sslCAFile, sslKeyFile, ...), to pass to init_orb.
OrbOptions tls_options(const TlsFiles& files);

// Sends a sentence for every TLS handshake this process's server side refuses (the peer and
// OpenSSL's reason: "giop:ssl:127.0.0.1:40112: wrong version number (not TLS: a plain IIOP
// client?)"). Bursts of 200 at most, then 5 a second, the next one saying how many were left
// out (LogLimit). Set before ORB_init; `sink` must be callable from any thread.
void on_tls_refusal(std::function<void(const std::string&)> sink);

// The verified certificate the peer of `connection` presented, or null (none, not verified,
// not a TLS connection). Owned by the connection: valid while the request is served.
const x509_st* peer_certificate(const omni::giopConnection* connection);

}  // namespace openoserv
