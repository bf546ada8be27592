// The odlist table.
#include "Odlist.h"

#include <arpa/inet.h>

#include <algorithm>
#include <set>

#include <fmt/core.h>

#include "Database.h"
#include "Failure.h"

namespace openoserv::odlist {

namespace {

constexpr const char* kLockKey = "odlist";  // in meta: no record, only its lock
// Host names a dispatcher may have: its label and aliases (the odlist line stays readable).
constexpr size_t kMaxHostNames = 32;
constexpr size_t kMaxHostNameLength = 253;  // as DNS

void require_address(const OdRecord& r, const std::string& ip) {
  if (r.ip != ip)
    fail(fmt::format("dispatcher {} has the address {}, not {}; see 'odadmin odlist'", r.od, r.ip,
                     ip));
}

std::string add_alias(const OdlistEdit& e, OdRecord& r) {
  require_address(r, e.ip);
  if (std::find(r.hostnames.begin(), r.hostnames.end(), e.name) == r.hostnames.end()) {
    if (r.hostnames.size() >= kMaxHostNames)
      fail(fmt::format("dispatcher {} already has {} host names; delete one first", r.od,
                       r.hostnames.size()));
    r.hostnames.push_back(e.name);
  }
  return fmt::format("Host name {} added to dispatcher {} ({}).", e.name, r.od, e.ip);
}

std::string delete_alias(const OdlistEdit& e, OdRecord& r) {
  require_address(r, e.ip);
  auto it = std::find(r.hostnames.begin(), r.hostnames.end(), e.name);
  if (it == r.hostnames.end()) fail(fmt::format("dispatcher {} has no host name {}", r.od, e.name));
  if (r.hostnames.size() == 1)
    fail(fmt::format("{} is the only host name of dispatcher {}; add another one first", e.name,
                     r.od));
  r.hostnames.erase(it);
  return fmt::format("Host name {} deleted from dispatcher {} ({}).", e.name, r.od, e.ip);
}

// Applies `e` to `r`; returns the operator message.
std::string apply(const OdlistEdit& e, OdRecord& r) {
  switch (e.kind) {
    case OdlistEdit::Kind::kForceBind:
      r.force_bind = e.flag;
      return fmt::format("Force socket bind set to {} for dispatcher(s) {}. Restart the oserv(s) "
                         "for the change to take effect.",
                         e.flag ? "TRUE" : "FALSE", e.od ? std::to_string(e.od) : "all");
    case OdlistEdit::Kind::kChangeIp: {
      const std::string old = r.ip;
      r.ip = e.ip;
      return fmt::format("Dispatcher {} address changed from {} to {}.", r.od, old, e.ip);
    }
    case OdlistEdit::Kind::kAddAlias: return add_alias(e, r);
    case OdlistEdit::Kind::kDeleteAlias: return delete_alias(e, r);
  }
  fail("unknown odlist edit");
}

}  // namespace

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

void require_ipv4(const std::string& ip) {
  in_addr a{};
  if (::inet_pton(AF_INET, ip.c_str(), &a) != 1) fail(fmt::format("'{}' is not an IPv4 address", ip));
}

void require_host_name(const std::string& name) {
  const bool ok = !name.empty() && name.size() <= kMaxHostNameLength &&
                  std::all_of(name.begin(), name.end(), [](unsigned char c) {
                    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
                  });
  if (!ok)
    fail(fmt::format("'{}' is not a host name: 1 to {} letters, digits, '.', '-' or '_'",
                     name.size() > 64 ? name.substr(0, 64) + "..." : name, kMaxHostNameLength));
}

const char* edit_name(OdlistEdit::Kind kind) {
  switch (kind) {
    case OdlistEdit::Kind::kForceBind: return "set_force_bind";
    case OdlistEdit::Kind::kChangeIp: return "change_ip";
    case OdlistEdit::Kind::kAddAlias: return "add_hostname_alias";
    case OdlistEdit::Kind::kDeleteAlias: return "delete_hostname_alias";
  }
  return "odlist edit";
}

void validate(const OdlistEdit& e) {
  const char* what = edit_name(e.kind);
  if (e.kind == OdlistEdit::Kind::kForceBind) return;
  require_ipv4(e.ip);
  if (e.od == 0) fail(fmt::format("{} needs one dispatcher number", what));
  if (e.kind != OdlistEdit::Kind::kChangeIp) require_host_name(e.name);
}

std::string apply_edit(db::Database& db, const OdlistEdit& e, std::uint32_t region) {
  validate(e);
  auto txn = db.begin(nullptr, edit_name(e.kind));
  lock(*txn);
  std::vector<OdRecord> targets;
  if (e.od == 0) {
    targets = load(db);  // committed, and no other change can start: we hold the lock
  } else if (auto rec = find(*txn, e.od)) {
    targets.push_back(*rec);
  } else {
    fail(fmt::format("dispatcher {} is not in the odlist of region {}; see 'odadmin odlist'", e.od,
                     region));
  }
  std::string message;
  for (auto& r : targets) {
    message = apply(e, r);
    put(*txn, r);
  }
  txn->commit();
  return message;
}

}  // namespace openoserv::odlist
