// odb.log: the undo (rollback) journal of the object database.
//
// Before a transaction changes a record, the record's before-image is appended here and made
// durable; only then is LMDB changed. A top-level commit appends a commit mark, an abort (after
// restoring the before-images) an abort mark. At open, every transaction with neither mark is
// rolled back by applying its before-images in reverse. When no transaction is open the file is
// truncated to 0 bytes.
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

  // Opens (creating) the journal; `sync` makes append() durable before it returns.
  void open(const std::string& path, bool sync);
  // Reads the whole file as it is now.
  std::string read_all() const;
  // Appends records with one write() and, in sync mode, one fdatasync().
  void append(const std::string& encoded);
  // Empties the file (when no transaction is open); not synced, see the .cc.
  void truncate();
  std::uint64_t size() const;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
  bool sync_ = true;
};

}  // namespace openoserv::db
