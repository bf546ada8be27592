// odb.log: the undo (rollback) journal of the object database.
//
// When a transaction first changes a record, the record's before-image is appended here; the
// journal is made durable before any of the transaction's changes reach LMDB. A top-level commit
// appends a commit mark, an abort an abort mark. At open, every transaction with neither mark
// (nor a commit marker in LMDB, see Database.h) is rolled back by applying its before-images in
// reverse. When no transaction is open the file is truncated to 0 bytes.
//
// Record layout (little-endian):  magic u32 | payload length u32 | CRC-32 of payload u32 | payload
// payload:  type u8 | top-level id u64 | transaction id u64 | [before-image: table u8 |
//           key length u32 | key | present u8 | value length u32 | value]
//
// A record cut short at the end of the file, or whose checksum fails at the very end (a crash
// mid-append), is a torn tail and is ignored. Anything that fails earlier is corruption: reading
// stops with JournalCorrupt naming the file and offset, and nothing is overwritten.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "Database.h"

namespace openoserv::db {

class JournalCorrupt : public DbError {
 public:
  using DbError::DbError;
};

struct JournalRecord {
  enum class Type : std::uint8_t { kBeforeImage = 1, kCommit = 2, kAbort = 3 };
  Type type = Type::kBeforeImage;
  std::uint64_t top = 0;  // the top-level transaction this belongs to
  std::uint64_t txn = 0;  // the (sub)transaction that made the change
  std::uint8_t table = 0;
  std::string key;
  std::optional<std::string> before;  // nullopt: the record did not exist

  std::string encode() const;
};

struct JournalScan {
  std::vector<JournalRecord> records;
  std::uint64_t valid_bytes = 0;  // where the last whole record ends
  bool torn_tail = false;         // bytes after valid_bytes were ignored
};

// Parses a whole journal. Throws JournalCorrupt("<path>: ... at offset N") on corruption.
JournalScan scan_journal(std::string_view bytes, const std::string& path);

class RollbackJournal {
 public:
  RollbackJournal() = default;
  ~RollbackJournal();
  RollbackJournal(const RollbackJournal&) = delete;
  RollbackJournal& operator=(const RollbackJournal&) = delete;

  // Opens (creating) the journal.
  void open(const std::string& path);
  // Reads the whole file as it is now (after a flush).
  std::string read_all() const;
  // Queues records in memory; flush() writes them with one write().
  void append(const std::string& encoded);
  void flush();
  // fdatasync: everything flushed (and a truncation) before the call is durable after it.
  // Thread-safe against concurrent append/flush (the caller serialises those).
  void sync();
  // Empties the file (when no transaction is open); not synced, see the .cc.
  void truncate();
  // Bytes in the journal, queued ones included.
  std::uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  std::string pending_;
};

}  // namespace openoserv::db
