// LMDB-backed object database: ownership, tables, framework transactions, journal recovery.
#include "Database.h"

#include "LockTable.h"
#include "RollbackJournal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include <fmt/core.h>

namespace openoserv::db {

namespace {

void check(int rc, const std::string& dir, const char* what) {
  if (rc != MDB_SUCCESS)
    throw DbError(fmt::format("database {}: {} failed: {}", dir, what, mdb_strerror(rc)));
}

MDB_val as_val(const std::string& s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string od_key(std::uint32_t od) {
  // Big-endian so LMDB's byte order is numeric order.
  std::string k(4, '\0');
  for (int i = 0; i < 4; ++i) k[i] = static_cast<char>((od >> (24 - 8 * i)) & 0xFF);
  return k;
}

std::uint32_t od_from_key(const MDB_val& v) {
  std::uint32_t od = 0;
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  for (size_t i = 0; i < 4 && i < v.mv_size; ++i) od = (od << 8) | p[i];
  return od;
}

bool parse_u32(std::string_view s, std::uint32_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// The whole of `bytes` into a new file, synced (backup copies of the journal).
void write_file_exactly(const std::string& path, const std::string& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw DbError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw DbError(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

const char* table_name(Table t) {
  static const char* const names[kTableCount] = {"meta",    "odlist",  "objects",
                                                 "attributes", "classes", "names"};
  return names[static_cast<int>(t)];
}

// RAII LMDB transaction: aborted unless committed.
class Database::LmdbTxn {
 public:
  LmdbTxn(Database& db, bool write) : db_(db) {
    check(mdb_txn_begin(db.env_, nullptr, write ? 0 : MDB_RDONLY, &txn_), db.dir_, "begin");
  }
  ~LmdbTxn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  void commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    check(rc, db_.dir_, "commit");
  }
  std::optional<std::string> get(MDB_dbi dbi, const std::string& key) {
    MDB_val k = as_val(key), v;
    int rc = mdb_get(txn_, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, db_.dir_, "get");
    return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
  }
  MDB_txn* get() { return txn_; }

 private:
  Database& db_;
  MDB_txn* txn_ = nullptr;
};

std::string OdRecord::encode() const {
  std::string hosts;
  for (const auto& h : hostnames) hosts += (hosts.empty() ? "" : ",") + h;
  return fmt::format("port={}\nip={}\nhosts={}\nforce_bind={}\n", port, ip, hosts,
                     force_bind ? 1 : 0);
}

OdRecord OdRecord::decode(std::uint32_t od, const std::string& text) {
  OdRecord r;
  r.od = od;
  bool have_port = false, have_ip = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      throw DbError(fmt::format("odlist record of dispatcher {} is corrupt: '{}'", od, line));
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    std::uint32_t n = 0;
    if (key == "port") {
      if (!parse_u32(value, n) || n == 0 || n > 65535)
        throw DbError(fmt::format("odlist record of dispatcher {}: bad port '{}'", od, value));
      r.port = static_cast<std::uint16_t>(n);
      have_port = true;
    } else if (key == "ip") {
      r.ip = value;
      have_ip = true;
    } else if (key == "hosts") {
      size_t s = 0;
      while (s < value.size()) {
        size_t c = value.find(',', s);
        if (c == std::string_view::npos) c = value.size();
        if (c > s) r.hostnames.emplace_back(value.substr(s, c - s));
        s = c + 1;
      }
    } else if (key == "force_bind") {
      r.force_bind = value == "1";
    }
    // Unknown keys are kept forward-compatible: a newer oserv may add fields.
  }
  if (!have_port || !have_ip)
    throw DbError(fmt::format("odlist record of dispatcher {} is incomplete (port/ip missing)", od));
  return r;
}

// ---- Transaction ----

Transaction::Transaction(Database& db, Transaction* parent, std::uint64_t id)
    : db_(db), parent_(parent), id_(id), top_(parent ? parent->top_ : id) {}

Transaction::~Transaction() {
  if (state_ != State::kOpen) return;
  try {
    abort();
  } catch (...) {
    // A failed rollback is redone from the journal at the next open.
  }
}

void Transaction::require_open(const char* what) const {
  if (state_ != State::kOpen)
    throw DbError(fmt::format("{}: transaction {} is already {}", what, db_.describe(id_),
                              state_ == State::kCommitted ? "committed" : "aborted"));
}

std::optional<std::string> Transaction::get(Table table, const std::string& key) {
  require_open("get");
  db_.locks_->acquire(top_, fmt::format("{}/{}", table_name(table), key), LockMode::kRead,
                      db_.options_.lock_timeout, [this](auto t) { return db_.describe(t); });
  return db_.read(table, key);
}

void Transaction::put(Table table, const std::string& key, const std::string& value) {
  change(table, key, value);
}

void Transaction::erase(Table table, const std::string& key) { change(table, key, std::nullopt); }

void Transaction::change(Table table, const std::string& key,
                         const std::optional<std::string>& value) {
  require_open("change");
  if (open_children_ > 0)
    throw DbError(fmt::format("transaction {} has an open sub-transaction; change it there",
                              db_.describe(id_)));
  db_.locks_->acquire(top_, fmt::format("{}/{}", table_name(table), key), LockMode::kWrite,
                      db_.options_.lock_timeout, [this](auto t) { return db_.describe(t); });
  // The write lock keeps every other transaction off this record, so the before-image read
  // here is still the value when LMDB is changed below.
  std::shared_lock hold(db_.change_mu_);
  JournalRecord bi{.type = JournalRecord::Type::kBeforeImage,
                   .top = top_,
                   .txn = id_,
                   .table = static_cast<std::uint8_t>(table),
                   .key = key,
                   .before = db_.read(table, key)};
  db_.journal_->append(bi.encode());
  undo_.push_back({table, key, std::move(bi.before)});
  db_.write(table, key, value);
  std::lock_guard guard(db_.mu_);
  db_.open_[id_].changes = undo_.size();
}

void Transaction::commit() {
  require_open("commit");
  if (open_children_ > 0)
    throw DbError(fmt::format("cannot commit transaction {}: a sub-transaction is still open",
                              db_.describe(id_)));
  if (parent_) {
    parent_->undo_.insert(parent_->undo_.end(), std::make_move_iterator(undo_.begin()),
                          std::make_move_iterator(undo_.end()));
  } else if (!undo_.empty()) {
    std::shared_lock hold(db_.change_mu_);
    db_.journal_->append(JournalRecord{.type = JournalRecord::Type::kCommit, .top = top_, .txn = id_}
                             .encode());
  }
  undo_.clear();
  state_ = State::kCommitted;
  db_.finished(*this);
}

void Transaction::abort() {
  require_open("abort");
  if (open_children_ > 0)
    throw DbError(fmt::format("cannot abort transaction {}: a sub-transaction is still open",
                              db_.describe(id_)));
  std::shared_lock hold(db_.change_mu_);
  db_.restore(undo_);
  if (!parent_ && !undo_.empty())
    db_.journal_->append(JournalRecord{.type = JournalRecord::Type::kAbort, .top = top_, .txn = id_}
                             .encode());
  undo_.clear();
  state_ = State::kAborted;
  db_.finished(*this);
}

// ---- Database ----

Database::Database() : journal_(std::make_unique<RollbackJournal>()),
                       locks_(std::make_unique<LockTable>()) {}

std::unique_ptr<Database> Database::open(const std::string& dir, const Options& options) {
  std::unique_ptr<Database> db(new Database);
  db->dir_ = dir;
  db->options_ = options;
  std::error_code ec;
  if (options.create) {
    std::filesystem::create_directories(dir, ec);
    if (ec) throw DbError(fmt::format("cannot create database directory {}: {}", dir, ec.message()));
  } else if (!std::filesystem::is_directory(dir, ec)) {
    throw DbError(fmt::format(
        "database directory {} does not exist; create the instance with oinstall", dir));
  } else if (!std::filesystem::exists(dir + "/data.mdb", ec)) {
    throw DbError(fmt::format(
        "{} holds no openoserv database (no data.mdb); create the instance with oinstall", dir));
  }

  // Ownership first: nothing below may touch a database another oserv has open.
  const std::string owner = dir + "/oserv.owner";
  db->owner_fd_ = ::open(owner.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (db->owner_fd_ < 0)
    throw DbError(fmt::format("cannot open {}: {}", owner, std::strerror(errno)));
  if (::flock(db->owner_fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[512] = {};
    ssize_t n = ::pread(db->owner_fd_, buf, sizeof buf - 1, 0);
    std::string who = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown owner";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    throw DbInUse(fmt::format("database {} is in use by another oserv ({})", dir, who));
  }
  {
    // A clean close empties the owner file; content left behind names an owner that died.
    char buf[512] = {};
    ssize_t n = ::pread(db->owner_fd_, buf, sizeof buf - 1, 0);
    std::string previous = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!previous.empty() && (previous.back() == '\n' || previous.back() == ' '))
      previous.pop_back();
    db->recovery_.stale_owner = previous;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string who =
      fmt::format("instance {}, pid {}, host {}\n", options.owner_id, ::getpid(), host);
  if (::ftruncate(db->owner_fd_, 0) != 0 ||
      ::pwrite(db->owner_fd_, who.data(), who.size(), 0) != static_cast<ssize_t>(who.size()))
    throw DbError(fmt::format("cannot write {}: {}", owner, std::strerror(errno)));

  check(mdb_env_create(&db->env_), dir, "mdb_env_create");
  check(mdb_env_set_maxdbs(db->env_, 16), dir, "mdb_env_set_maxdbs");
  check(mdb_env_set_mapsize(db->env_, options.map_size), dir, "mdb_env_set_mapsize");
  unsigned flags = MDB_NOTLS | (options.sync ? 0 : MDB_NOSYNC);
  check(mdb_env_open(db->env_, dir.c_str(), flags, 0644), dir, "mdb_env_open");
  {
    LmdbTxn txn(*db, true);
    for (int t = 0; t < kTableCount; ++t)
      check(mdb_dbi_open(txn.get(), table_name(static_cast<Table>(t)), MDB_CREATE, &db->dbis_[t]),
            dir, "mdb_dbi_open");
    txn.commit();
  }
  db->journal_->open(dir + "/odb.log", options.sync);
  db->recover();
  if (!options.create && !db->initialised())
    throw DbError(fmt::format("database {} has no region number: it was never initialised by "
                              "oinstall or its creation was interrupted",
                              dir));
  if (db->initialised()) {
    db->region_ = db->region();
    db->od_ = db->dispatcher();
  }
  // Transaction ids: session (start time) in the high half, a counter in the low half.
  db->next_id_ = (static_cast<std::uint64_t>(::time(nullptr)) & 0xffffffffu) << 32 | 1;
  return db;
}

void Database::recover() {
  const std::string bytes = journal_->read_all();
  recovery_.journal_bytes = bytes.size();
  if (bytes.empty()) return;
  JournalScan scan = scan_journal(bytes, journal_->path());  // throws on corruption
  recovery_.torn_tail = scan.torn_tail;
  std::set<std::uint64_t> ended;
  for (const auto& r : scan.records)
    if (r.type != JournalRecord::Type::kBeforeImage) ended.insert(r.top);
  LmdbTxn txn(*this, true);
  std::set<std::uint64_t> undone;
  for (auto it = scan.records.rbegin(); it != scan.records.rend(); ++it) {
    if (it->type != JournalRecord::Type::kBeforeImage || ended.count(it->top)) continue;
    if (it->table >= kTableCount)
      throw JournalCorrupt(fmt::format("{}: before-image names unknown table {}", journal_->path(),
                                       it->table));
    apply(txn.get(), static_cast<Table>(it->table), it->key, it->before);
    undone.insert(it->top);
    ++recovery_.records_restored;
  }
  txn.commit();
  check(mdb_env_sync(env_, 1), dir_, "mdb_env_sync");
  recovery_.rolled_back.assign(undone.begin(), undone.end());
  journal_->truncate();
}

Database::~Database() {
  if (env_) mdb_env_close(env_);
  if (owner_fd_ >= 0) {
    // Marks the close as clean (see RecoveryReport::stale_owner), then releases the lock.
    if (::ftruncate(owner_fd_, 0) != 0) {
    }
    ::close(owner_fd_);
  }
}

RecoveryReport Database::backup(const std::string& target_dir) {
  std::error_code ec;
  std::filesystem::create_directories(target_dir, ec);
  if (ec)
    throw DbError(fmt::format("cannot create backup directory {}: {}", target_dir, ec.message()));
  if (!std::filesystem::is_empty(target_dir, ec))
    throw DbError(fmt::format("backup directory {} is not empty", target_dir));
  {
    std::unique_lock hold(change_mu_);
    check(mdb_env_copy2(env_, target_dir.c_str(), MDB_CP_COMPACT), target_dir, "mdb_env_copy2");
    write_file_exactly(target_dir + "/odb.log", journal_->read_all());
  }
  // Open transactions were written through; the copy's own recovery takes them out again.
  auto copy = Database::open(target_dir, {.sync = true, .owner_id = "backup of " + dir_});
  RecoveryReport report = copy->recovery();
  report.stale_owner.clear();
  return report;
}

std::vector<std::string> Database::verify() {
  std::vector<std::string> problems;
  for (const auto& [key, value] : scan(Table::kOdlist)) {
    try {
      MDB_val k = as_val(key);
      OdRecord::decode(od_from_key(k), value);
    } catch (const DbError& e) {
      problems.push_back(e.what());
    }
  }
  auto exists = [&](const std::string& oid) { return read(Table::kObjects, oid).has_value(); };
  for (const auto& [key, value] : scan(Table::kAttributes)) {
    const std::string oid = key.substr(0, key.find('/'));
    if (!exists(oid))
      problems.push_back(fmt::format("attribute {} belongs to object {}, which does not exist",
                                     key, oid));
  }
  for (const auto& [key, value] : scan(Table::kNames))
    if (!exists(value))
      problems.push_back(
          fmt::format("name {} refers to object {}, which does not exist", key, value));
  return problems;
}

std::string Database::describe(std::uint64_t txn) const {
  return fmt::format("{{{}:{},{}:{},{}:{}}}", region_, od_, region_, od_, txn >> 32,
                     txn & 0xffffffffu);
}

std::unique_ptr<Transaction> Database::begin(Transaction* parent, std::string label) {
  if (parent) parent->require_open("begin sub-transaction");
  const std::uint64_t id = next_id_++;
  std::unique_ptr<Transaction> t(new Transaction(*this, parent, id));
  if (parent) ++parent->open_children_;
  char when[32];
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&now, &tm);
  std::strftime(when, sizeof when, "%Y/%m/%d %H:%M:%S", &tm);
  std::lock_guard guard(mu_);
  open_[id] = TransactionInfo{id, t->top_, parent ? parent->id_ : 0, std::move(label), when, 0};
  return t;
}

void Database::finished(Transaction& t) {
  if (t.parent_) {
    --t.parent_->open_children_;
  } else {
    locks_->release_all(t.id_);
  }
  std::lock_guard guard(mu_);
  open_.erase(t.id_);
  // The journal only matters while a transaction is open.
  if (open_.empty() && journal_->size() > 0) journal_->truncate();
}

void Database::apply(MDB_txn* txn, Table table, const std::string& key,
                     const std::optional<std::string>& value) {
  MDB_val k = as_val(key);
  if (value) {
    MDB_val v = as_val(*value);
    check(mdb_put(txn, dbi(table), &k, &v, 0), dir_, "put");
  } else {
    int rc = mdb_del(txn, dbi(table), &k, nullptr);
    if (rc != MDB_NOTFOUND) check(rc, dir_, "del");
  }
}

void Database::write(Table table, const std::string& key,
                     const std::optional<std::string>& value) {
  LmdbTxn txn(*this, true);
  apply(txn.get(), table, key, value);
  txn.commit();
}

void Database::restore(const std::vector<Transaction::Undo>& undo) {
  if (undo.empty()) return;
  LmdbTxn txn(*this, true);
  for (auto it = undo.rbegin(); it != undo.rend(); ++it) apply(txn.get(), it->table, it->key, it->before);
  txn.commit();
}

std::optional<std::string> Database::read(Table table, const std::string& key) {
  LmdbTxn txn(*this, false);
  return txn.get(dbi(table), key);
}

std::vector<std::pair<std::string, std::string>> Database::scan(Table table) {
  LmdbTxn txn(*this, false);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), dbi(table), &cur), dir_, "cursor");
  std::vector<std::pair<std::string, std::string>> out;
  MDB_val k, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    out.emplace_back(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                     std::string(static_cast<const char*>(v.mv_data), v.mv_size));
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) check(rc, dir_, "cursor_get");
  return out;
}

bool Database::initialised() { return get_meta(kMetaRegion).has_value(); }

void Database::put_meta(const std::string& key, const std::string& value) {
  auto t = begin(nullptr, "put_meta");
  t->put(Table::kMeta, key, value);
  t->commit();
  // Transaction ids carry region and dispatcher; keep them in step when oinstall sets them.
  if (key == kMetaRegion) parse_u32(value, region_);
  if (key == kMetaDispatcher) parse_u32(value, od_);
}

std::uint32_t Database::meta_u32(const char* key) {
  auto v = get_meta(key);
  std::uint32_t n = 0;
  if (!v || !parse_u32(*v, n))
    throw DbError(fmt::format("database {}: meta '{}' is missing or not a number", dir_, key));
  return n;
}

std::uint32_t Database::region() { return meta_u32(kMetaRegion); }
std::uint32_t Database::dispatcher() { return meta_u32(kMetaDispatcher); }

std::vector<OdRecord> Database::odlist() {
  std::vector<OdRecord> out;
  for (const auto& [key, value] : scan(Table::kOdlist)) {
    MDB_val k = as_val(key);
    out.push_back(OdRecord::decode(od_from_key(k), value));
  }
  return out;
}

std::optional<OdRecord> Database::od(std::uint32_t od) {
  auto v = read(Table::kOdlist, od_key(od));
  if (!v) return std::nullopt;
  return OdRecord::decode(od, *v);
}

void Database::put_od(const OdRecord& record) {
  auto t = begin(nullptr, "put_od");
  t->put(Table::kOdlist, od_key(record.od), record.encode());
  t->commit();
}

bool Database::sync() {
  check(mdb_env_sync(env_, 1), dir_, "mdb_env_sync");
  return purge_journal();
}

bool Database::purge_journal() {
  std::lock_guard guard(mu_);
  if (!open_.empty()) return false;
  if (journal_->size() > 0) journal_->truncate();
  return true;
}

std::uint64_t Database::journal_size() { return journal_->size(); }

std::vector<TransactionInfo> Database::transactions() {
  std::lock_guard guard(mu_);
  std::vector<TransactionInfo> out;
  for (const auto& [id, info] : open_) out.push_back(info);
  return out;
}

std::vector<LockInfo> Database::locks() { return locks_->snapshot(); }

}  // namespace openoserv::db
