// TLS on the endpoint protocol's sessions (docs/LCF-PROTOCOL.md, "Encryption").
//
// The gateway shows its managed node's region certificate (DBDIR/ssl/identity.pem: its own
// certificate, the region CA, its key) and asks the endpoint for none: an endpoint proves itself
// with the key issued at its first login, inside the encrypted session.
//
// The endpoint checks the gateway before it sends anything: the chain must end in a CA whose
// SHA-256 fingerprint is the one it trusts, and the gateway's certificate must be a dispatcher's,
// issued by that CA and not expired. The fingerprint it trusts is lcf.dat's region_ca, else that
// of the CA file it was installed with (winstlcf copies the region's), else — the very first
// login of an endpoint installed with neither — the CA the gateway shows, kept from then on
// (trust on first use, logged).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <utility>

#include <boost/asio/ssl.hpp>

namespace openoserv::lcf {

namespace ssl = boost::asio::ssl;

// How long a gateway's session ticket may be resumed (TLS 1.3 allows a week at most).
inline constexpr std::chrono::seconds kTicketLifetime{7 * 24 * 3600};

// A gateway's context: `identity_file` holds its certificate, chain and key (PEM). Throws
// std::runtime_error naming the file when it cannot be used.
std::unique_ptr<ssl::context> gateway_tls_context(const std::string& identity_file);
// An endpoint's context (it verifies the gateway itself: check_gateway_chain).
std::unique_ptr<ssl::context> endpoint_tls_context();

// What an endpoint makes of the chain a gateway showed (PEM, the gateway's own first): the
// fingerprint of the region CA it ends in, when `trusted` (a fingerprint; empty: none yet) allows
// it and the gateway's certificate is a dispatcher's issued by that CA. Throws std::runtime_error
// saying what is wrong.
std::string check_gateway_chain(const std::vector<std::string>& chain, const std::string& trusted);

}  // namespace openoserv::lcf
