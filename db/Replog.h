// The replication log: every committed top-level transaction of a primary TMR server, as it
// reaches the standbys (docs/REPLICATION.md).
//
// A database with the log on (Database::set_replog) gives each top-level commit the next
// sequence number and, in the same LMDB transaction as the commit's changes, writes
//   replog   seq (u64 big-endian) -> record          the last `keep` of them
//   meta     "repl_seq" -> the last sequence number (decimal)
// so the log, the data and the position never disagree, whatever the crash. A standby applies
// each record as a transaction of its own database (with its own odb.log) and writes the same
// record under the same number: its position is its meta "repl_seq", and after a promotion its
// log continues the primary's.
//
// Record layout (little-endian): magic u32 | CRC-32C of the rest u32 | seq u64 | txn u64 |
// epoch u64 | committed (ms since the epoch) i64 | changes u32 | per change: table u8 |
// key length u32 | key | before present u8 [length u32 | bytes] | after present u8
// [length u32 | bytes]. Before-images make a divergence report possible (what a demoted primary
// committed alone, and what it replaced); the standby applies the after-images.
//
// Some meta keys belong to one instance, not to the region, and are neither logged nor applied
// (replicated_key).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "Database.h"

namespace openoserv::db {

inline constexpr const char* kMetaReplSeq = "repl_seq";
inline constexpr const char* kMetaReplEpoch = "repl_epoch";
inline constexpr const char* kMetaRole = "role";            // "standby" on a standby; else absent
inline constexpr const char* kMetaReplication = "replication";  // "async" or "sync" (region)
inline constexpr const char* kMetaStandbyCopy = "standby_copy";  // "needed" until the first copy
inline constexpr const char* kMetaDemoted = "demoted";  // why a demoted TMR server is one

struct ReplicatedChange {
  Table table = Table::kMeta;
  std::string key;
  std::optional<std::string> before, after;  // nullopt: absent
};

struct ReplicatedTxn {
  std::uint64_t seq = 0;
  std::uint64_t txn = 0;    // the primary's transaction id
  std::uint64_t epoch = 0;  // the primary's epoch when it committed
  std::int64_t committed_ms = 0;
  std::vector<ReplicatedChange> changes;

  std::string encode() const;
  // Throws DbError naming what is wrong (short, bad checksum, unknown table).
  static ReplicatedTxn decode(std::string_view bytes);
};

// Only the sequence number, read from an encoded record without decoding the rest.
std::uint64_t replog_seq(std::string_view record);
// Its checksum, which tells two records of the same number apart (a record a primary published
// and then failed to commit, and the one it committed under that number after).
std::uint32_t replog_crc(std::string_view record);
// The replog's key for `seq`: big-endian, so LMDB's order is the log's.
std::string replog_key(std::uint64_t seq);

// Whether a change of (table, key) is the region's (logged and applied) or this instance's own.
bool replicated_key(Table table, std::string_view key);

}  // namespace openoserv::db
