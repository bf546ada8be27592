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

}  // namespace odlist
}  // namespace openoserv
