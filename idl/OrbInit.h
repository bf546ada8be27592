// How every openoserv process (oserv, commands, benchmarks) starts its ORB.
//
// Strings between openoserv processes are UTF-8, whatever kind of reference carries the call.
//
// An IOR made by an oserv advertises UTF-8 (its native code set) in its TAG_CODE_SETS
// component, and any ORB then transmits strings in UTF-8. But a corbaloc reference carries no
// code-set information, and omniORB then transmits ISO 8859-1, so every character outside
// Latin-1 would fail with DATA_CONVERSION. Our clients and dispatchers make every reference
// from a corbaloc URL, so each process installs a client interceptor that, for references
// without code-set information, chooses UTF-8 and tells the server so with the standard CodeSets
// service context (the server keeps it for the connection).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <omniORB4/CORBA.h>

namespace openoserv {

using OrbOptions = std::vector<std::pair<std::string, std::string>>;

// ORB_init with `options` (omniORB parameter names, e.g. {"endPoint", "giop:tcp::94"}), UTF-8
// strings, no existence check (GIOP LocateRequest) before a reference's first call, and no
// request sent on a connection its peer has closed. `name` is the program name omniORB logs
// under. Throws what ORB_init throws.
CORBA::ORB_ptr init_orb(const char* name, const OrbOptions& options);

// The service context a dispatcher adds to a call it makes on a caller's behalf (a relayed
// method call): the caller as the relaying dispatcher named it, so the owner can tell its
// programs (OSERV_CALLER) and its audit log who asked. Information only, never a credential:
// the relaying dispatcher checked the caller's rights.
inline constexpr CORBA::ULong kOnBehalfOfContext = 0x4F4F0001;  // "OO", 1

// The service context a primary TMR server adds to every call it makes: its epoch (8 bytes,
// little-endian; docs/REPLICATION.md). A dispatcher that knows a newer epoch refuses the call
// (NO_PERMISSION, minor kStaleEpochRefusal): a TMR server that was replaced gives no orders.
// Its certificate proves it is dispatcher 1; the epoch says of which time.
inline constexpr CORBA::ULong kEpochContext = 0x4F4F0002;  // "OO", 2
inline constexpr unsigned long kStaleEpochRefusal = 0x4f4f5302;
// Every call this process makes from now on carries `epoch` (0: none).
void set_outgoing_epoch(std::uint64_t epoch);
// The epoch a request's service contexts carry (0: none, or not 8 bytes).
std::uint64_t epoch_of(const IOP::ServiceContextList& contexts);
// What a TMR server's operator reads when `who` refused it for its epoch.
std::string stale_epoch_refusal(const std::string& who);

// While one lives, the calls this thread makes carry `caller` in that service context.
class OnBehalfOf {
 public:
  explicit OnBehalfOf(const std::string& caller);
  ~OnBehalfOf();
  OnBehalfOf(const OnBehalfOf&) = delete;
  OnBehalfOf& operator=(const OnBehalfOf&) = delete;

 private:
  const std::string* saved_;
};

// The minor code of CORBA::NO_PERMISSION from a standby TMR server refusing an operation that
// only a primary serves (clients say so instead of speaking of roles).
inline constexpr unsigned long kStandbyRefusal = 0x4f4f5301;  // "OOS" 1

// The corbaloc URL of `key` (escaped as corbaloc requires) at `host_port`, for IIOP 1.2 over
// TLS (every oserv's port speaks TLS only): "corbaloc:ssliop:1.2@10.0.0.2:94/Dispatcher". A URL
// without a version means IIOP 1.0 to omniORB, whose GIOP 1.0 has no code-set negotiation:
// strings would travel as ISO 8859-1.
std::string corbaloc_url(const std::string& host_port, const std::string& key);

}  // namespace openoserv
