// The replication log's records (Replog.h).
#include "Replog.h"

#include <cstring>

#include <fmt/core.h>

#include "RollbackJournal.h"

namespace openoserv::db {

namespace {

constexpr std::uint32_t kMagic = 0x5245504cu;  // "REPL"
constexpr std::size_t kHeader = 8;             // magic, CRC-32C

template <typename T>
void put(std::string& out, T v) {
  char bytes[sizeof v];
  std::memcpy(bytes, &v, sizeof v);  // little-endian hosts only, as the journal
  out.append(bytes, sizeof v);
}

void put_optional(std::string& out, const std::optional<std::string>& v) {
  out.push_back(v ? 1 : 0);
  if (!v) return;
  put(out, static_cast<std::uint32_t>(v->size()));
  out += *v;
}

// Reads from a record, throwing DbError at its end instead of reading past it.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : rest_(bytes) {}
  template <typename T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, rest_.data(), sizeof v);
    rest_.remove_prefix(sizeof v);
    return v;
  }
  std::string bytes(std::size_t n) {
    need(n);
    std::string v(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return v;
  }
  std::optional<std::string> optional() {
    if (!get<std::uint8_t>()) return std::nullopt;
    return bytes(get<std::uint32_t>());
  }
  bool done() const { return rest_.empty(); }

 private:
  void need(std::size_t n) const {
    if (rest_.size() < n) throw DbError("replication record cut short");
  }
  std::string_view rest_;
};

}  // namespace

std::string ReplicatedTxn::encode() const {
  std::string out(kHeader, '\0');
  put(out, seq);
  put(out, txn);
  put(out, epoch);
  put(out, committed_ms);
  put(out, static_cast<std::uint32_t>(changes.size()));
  for (const auto& c : changes) {
    out.push_back(static_cast<char>(c.table));
    put(out, static_cast<std::uint32_t>(c.key.size()));
    out += c.key;
    put_optional(out, c.before);
    put_optional(out, c.after);
  }
  const std::uint32_t crc = crc32c(std::string_view(out).substr(kHeader));
  std::memcpy(out.data(), &kMagic, 4);
  std::memcpy(out.data() + 4, &crc, 4);
  return out;
}

ReplicatedTxn ReplicatedTxn::decode(std::string_view bytes) {
  Reader header(bytes);
  if (header.get<std::uint32_t>() != kMagic) throw DbError("not a replication record");
  const auto crc = header.get<std::uint32_t>();
  if (crc32c(bytes.substr(kHeader)) != crc)
    throw DbError("replication record damaged (checksum)");
  Reader r(bytes.substr(kHeader));
  ReplicatedTxn t;
  t.seq = r.get<std::uint64_t>();
  t.txn = r.get<std::uint64_t>();
  t.epoch = r.get<std::uint64_t>();
  t.committed_ms = r.get<std::int64_t>();
  const auto n = r.get<std::uint32_t>();
  for (std::uint32_t i = 0; i < n; ++i) {
    ReplicatedChange c;
    const auto table = r.get<std::uint8_t>();
    if (table >= kTableCount || static_cast<Table>(table) == Table::kReplog)
      throw DbError(fmt::format("replication record {}: unknown table {}", t.seq, table));
    c.table = static_cast<Table>(table);
    c.key = r.bytes(r.get<std::uint32_t>());
    c.before = r.optional();
    c.after = r.optional();
    t.changes.push_back(std::move(c));
  }
  if (!r.done()) throw DbError(fmt::format("replication record {}: bytes after its end", t.seq));
  return t;
}

std::uint64_t replog_seq(std::string_view record) {
  if (record.size() < kHeader + 8) throw DbError("replication record cut short");
  std::uint64_t seq;
  std::memcpy(&seq, record.data() + kHeader, 8);
  return seq;
}

std::uint32_t replog_crc(std::string_view record) {
  if (record.size() < kHeader) throw DbError("replication record cut short");
  std::uint32_t crc;
  std::memcpy(&crc, record.data() + 4, 4);
  return crc;
}

std::string replog_key(std::uint64_t seq) {
  std::string key(8, '\0');
  for (int i = 7; i >= 0; --i, seq >>= 8) key[static_cast<std::size_t>(i)] = static_cast<char>(seq & 0xff);
  return key;
}

bool replicated_key(Table table, std::string_view key) {
  if (table == Table::kReplog) return false;
  if (table != Table::kMeta) return true;
  // The instance's own: its name, when and how it was made, its durability, its role, its
  // place in the log and its votes in promotions; and the commit markers of old builds.
  for (const char* own :
       {kMetaInstanceId, kMetaCreated, kMetaDurability, kMetaRole, kMetaReplSeq, kMetaStandbyCopy,
        kMetaDemoted})
    if (key == own) return false;
  return key.substr(0, 7) != "commit/" && key.substr(0, 5) != "vote:";
}

}  // namespace openoserv::db
