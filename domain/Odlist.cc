// The odlist table.
#include "Odlist.h"

#include <set>

#include <fmt/core.h>

#include "Database.h"

namespace openoserv::odlist {

namespace {
constexpr const char* kLockKey = "odlist";  // in meta: no record, only its lock
}

std::string key(std::uint32_t od) {
  std::string k(4, '\0');
  for (int i = 0; i < 4; ++i) k[i] = static_cast<char>((od >> (24 - 8 * i)) & 0xFF);
  return k;
}

std::vector<OdRecord> load(db::Database& db) {
  std::vector<OdRecord> out;
  for (const auto& [k, value] : db.scan(db::Table::kOdlist)) {
    std::uint32_t od = 0;
    for (unsigned char c : k) od = od << 8 | c;
    out.push_back(records::decode_od(od, value));
  }
  return out;
}

std::optional<OdRecord> find(db::Database& db, std::uint32_t od) {
  auto bytes = db.read(db::Table::kOdlist, key(od));
  if (!bytes) return std::nullopt;
  return records::decode_od(od, *bytes);
}

std::optional<OdRecord> find(db::Transaction& txn, std::uint32_t od) {
  auto bytes = txn.get(db::Table::kOdlist, key(od));
  if (!bytes) return std::nullopt;
  return records::decode_od(od, *bytes);
}

void put(db::Transaction& txn, const OdRecord& record) {
  txn.put(db::Table::kOdlist, key(record.od), records::encode_od(record));
}

void lock(db::Transaction& txn) { txn.lock(db::Table::kMeta, kLockKey, db::LockMode::kWrite); }

void replace(db::Database& db, const std::vector<OdRecord>& records) {
  auto txn = db.begin(nullptr, "odlist update");
  lock(*txn);
  std::set<std::uint32_t> keep;
  for (const auto& r : records) {
    keep.insert(r.od);
    put(*txn, r);
  }
  for (const auto& r : load(db))
    if (!keep.count(r.od)) txn->erase(db::Table::kOdlist, key(r.od));
  txn->commit();
}

std::string describe(const OdRecord& r) {
  return fmt::format("dispatcher {} ({}, {}:{})", r.od, r.label(), r.ip, r.port);
}

}  // namespace openoserv::odlist
