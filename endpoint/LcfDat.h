// lcf.dat: what an endpoint knows about its place in the region, kept in its directory so that
// it moves with it (seed 4.8: the endpoint fails over with its directory and logs back into its
// last gateway). Written by lcfd after every successful login, read at start.
//
// Format: text lines "key=value" (values without newlines; lists joined by ','), then a last
// line "end=<CRC-32 of every byte before it, 8 hex digits>". The file is replaced atomically
// (temporary file, fsync, rename, directory fsync) with mode 0600, then lcf.dat.bak is
// replaced the same way with the same text. A file that does not end in a matching "end" line is
// damaged (truncated, edited): load() then says what it found, and lcfd falls back to the .bak
// copy, or to an initial login with the damaged file kept aside — nothing is lost silently.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "HostPort.h"

namespace openoserv::lcf {

// Tivoli's gateway lists (common/HostPort.h), as lcf.dat and lcfd use them.
using openoserv::GatewayAddress;
using openoserv::gateways_text;
using openoserv::parse_gateways;

struct LcfDat {
  std::string label;                   // the endpoint's name in the region
  std::string oid;                     // its object
  std::string key;                     // the key it proves itself with
  GatewayAddress gateway;              // its assigned gateway
  std::vector<GatewayAddress> alternates;
  std::vector<GatewayAddress> login_interfaces;  // lcs.login_interfaces, as last used
  long long last_login = 0;            // seconds since the epoch
  std::string region_ca;               // SHA-256 of the region CA its gateways proved (TLS)
  bool operator==(const LcfDat&) const = default;
};

struct LcfDatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string serialize(const LcfDat& dat);
// Parses a file's text; `path` names it in errors ("lcf.dat line 3: ...").
LcfDat parse_lcf_dat(const std::string& text, const std::string& path);

// nullopt when `path` does not exist; LcfDatError when it is damaged.
std::optional<LcfDat> load_lcf_dat(const std::string& path);
// Replaces `path` as described above.
void save_lcf_dat(const std::string& path, const LcfDat& dat);

}  // namespace openoserv::lcf
