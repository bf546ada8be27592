// The odlist in the object database: every dispatcher of the region (the TMR server's copy is
// authoritative; a managed node keeps a copy for routing).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "Records.h"

namespace openoserv::db {
class Database;
class Transaction;
}  // namespace openoserv::db

namespace openoserv {

// Dispatcher 1 of every region is its TMR server.
inline constexpr std::uint32_t kTmrDispatcher = 1;

// An edit of the odlist, made at the TMR server (or, offline, in a stopped instance's database).
struct OdlistEdit {
  enum class Kind { kForceBind, kChangeIp, kAddAlias, kDeleteAlias };
  Kind kind = Kind::kForceBind;
  std::uint32_t od = 0;  // 0: every dispatcher (force bind only)
  std::string ip;        // change_ip: the new address; aliases: the dispatcher's current address
  std::string name;      // aliases
  bool flag = false;     // force bind: on or off; change_ip: send the odlist to the region now
};

namespace odlist {

// The key of dispatcher `od`'s record: 4 bytes big-endian, so LMDB's order is numeric order.
std::string key(std::uint32_t od);

std::vector<OdRecord> load(db::Database& db);
std::optional<OdRecord> find(db::Database& db, std::uint32_t od);
// Within `txn`, whose caller holds the odlist lock (see lock()).
std::optional<OdRecord> find(db::Transaction& txn, std::uint32_t od);
void put(db::Transaction& txn, const OdRecord& record);
// The one lock every read-modify-write of the odlist takes first, so that two concurrent edits
// (or registrations) serialise and neither's update is lost.
void lock(db::Transaction& txn);
// Makes the odlist exactly `records` (a managed node's copy of the TMR server's), in one
// transaction.
void replace(db::Database& db, const std::vector<OdRecord>& records);
// "dispatcher N (host, ip:port)", for messages.
std::string describe(const OdRecord& record);

// Throw Failure unless `ip` is an IPv4 address / `name` a host name (see validate()): host
// names go into comma-separated lists (odadmin odlist) and log lines.
void require_ipv4(const std::string& ip);
void require_host_name(const std::string& name);

// The odadmin word for an edit: "change_ip", "set_force_bind", ...
const char* edit_name(OdlistEdit::Kind kind);
// Throws Failure unless `edit` is well formed: an IPv4 address, one dispatcher where one is
// needed, a host name alias of at most 253 letters, digits, '.', '-' or '_'.
void validate(const OdlistEdit& edit);
// Validates `edit` and applies it to the odlist in `db` in one transaction (of region `region`,
// for messages). Returns the operator message. Throws Failure when it does not apply (no such
// dispatcher, address or alias; the last host name; too many aliases).
std::string apply_edit(db::Database& db, const OdlistEdit& edit, std::uint32_t region);

}  // namespace odlist
}  // namespace openoserv
