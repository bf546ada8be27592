// odb.log: the undo (rollback) journal of the object database.
//
// When a transaction first changes a record, the record's before-image is appended here. A
// top-level commit appends a commit mark, and the journal is made durable, before any of the
// transaction's changes reach LMDB; an abort appends an abort mark. At open, every transaction
// with neither mark is rolled back by applying its before-images in reverse. When no transaction
// is open the file is truncated to 0 bytes.
//
// Record layout (little-endian):  magic u32 | payload length u32 | CRC-32C of payload u32 | payload
// payload:  type u8 | top-level id u64 | transaction id u64 | [before-image: table u8 |
//           key length u32 | key | present u8 | value length u32 | value]
// (Journals written before CRC-32C carry another magic and a CRC-32; they are still read.)
//
// The file is memory-mapped: appending is a copy into the page cache, which a process crash
// cannot undo; sync() is what makes records survive a power loss. The file is grown ahead of the
// records in steps (4 KiB at first, then by a quarter), with fallocate, so a full disk is an
// error at append time, never a fault later; the bytes past the last record are zeros. So while
// transactions run the file is a little larger than its records, and it is 0 bytes when idle.
//
// Zeros after the last record are the end of the journal. A record cut short or whose checksum
// fails at the very end (a crash mid-append) is a torn tail and is ignored. Anything that fails
// earlier is corruption: reading stops with JournalCorrupt naming the file and offset, and
// nothing is overwritten.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "Database.h"
#include "UniqueFd.h"

namespace openoserv::db {

class JournalCorrupt : public DbError {
 public:
  using DbError::DbError;
};

// CRC-32C (Castagnoli), with the SSE 4.2 instruction where the processor has it.
std::uint32_t crc32c(std::string_view data);

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
  bool torn_tail = false;         // a partial record after valid_bytes was ignored
};

// Parses a whole journal. Throws JournalCorrupt("<path>: ... at offset N") on corruption.
JournalScan scan_journal(std::string_view bytes, const std::string& path);

class RollbackJournal {
 public:
  RollbackJournal() = default;
  ~RollbackJournal();
  RollbackJournal(const RollbackJournal&) = delete;
  RollbackJournal& operator=(const RollbackJournal&) = delete;

  // Opens (creating) the journal. Its content is left as found, for recovery.
  void open(const std::string& path);
  // Reads the whole file as it is now.
  std::string read_all() const;
  // Appends a before-image. Throws DbError naming the file when it cannot grow (disk full);
  // nothing is appended then. The caller serialises appends, truncate() and the size calls.
  void append_before_image(std::uint64_t top, std::uint64_t txn, std::uint8_t table,
                           std::string_view key, const std::optional<std::string>& before);
  // Appends a commit or abort mark.
  void append_mark(JournalRecord::Type type, std::uint64_t top, std::uint64_t txn);
  // fdatasync: everything appended (and a truncation) before the call is durable after it. On
  // Linux this includes what was written through the mapping. May run concurrently with appends.
  void sync();
  // Empties the file (when no transaction is open); not synced, see the .cc.
  void truncate();
  // Bytes of records in the journal.
  std::uint64_t size() const { return size_; }
  // Bytes the file has (records, then the zeros it was grown by).
  std::uint64_t file_size() const { return file_size_; }
  const std::string& path() const { return path_; }

 private:
  void append(JournalRecord::Type type, std::uint64_t top, std::uint64_t txn, std::uint8_t table,
              std::string_view key, const std::optional<std::string>& before);
  void grow(std::uint64_t needed);

  std::string path_;
  UniqueFd fd_;
  char* map_ = nullptr;
  std::size_t map_length_ = 0;
  std::uint64_t size_ = 0, file_size_ = 0;
};

}  // namespace openoserv::db
