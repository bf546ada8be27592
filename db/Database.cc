// LMDB-backed object database: ownership, tables, framework transactions, journal recovery.
#include "Database.h"

#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <set>

#include "LockTable.h"
#include "Numbers.h"
#include "Replog.h"
#include "RollbackJournal.h"
#include "TextFile.h"

namespace openoserv::db {

namespace {

std::string lock_resource(Table table, const std::string& key);

void check(int rc, const std::string& dir, const char* what) {
  if (rc != MDB_SUCCESS)
    throw DbError(fmt::format("database {}: {} failed: {}", dir, what, mdb_strerror(rc)));
}

// LMDB reports a write cut short by a full file system as EIO (a short write), not ENOSPC:
// below this much free space, that is what it was.
constexpr std::uint64_t kFullBelow = 1 << 20;

// Why an LMDB commit in `dir` failed, in words an operator acts on.
std::string commit_error(const std::string& dir, int rc) {
  struct statvfs fs {};
  const bool measured = ::statvfs(dir.c_str(), &fs) == 0;
  const std::uint64_t free_bytes = measured ? std::uint64_t{fs.f_bavail} * fs.f_frsize : 0;
  if (rc == ENOSPC || (rc == EIO && measured && free_bytes < kFullBelow))
    return fmt::format("{}/data.mdb: commit failed: No space left on device ({} bytes free on its "
                       "file system; LMDB: {})",
                       dir, free_bytes, mdb_strerror(rc));
  return fmt::format("database {}: commit failed: {}", dir, mdb_strerror(rc));
}

MDB_val as_val(const std::string& s) { return MDB_val{s.size(), const_cast<char*>(s.data())}; }

constexpr const char* kCommitMarkerPrefix = "commit/";

// "<table>/<key>": what a lock is taken on, and what tmstat shows.
std::string lock_resource(Table table, const std::string& key) {
  std::string r = table_name(table);
  r += '/';
  r += key;
  return r;
}

}  // namespace

const char* table_name(Table t) {
  static const char* const names[kTableCount] = {
      "meta",  "odlist",         "objects",   "attributes", "classes",
      "names", "administrators", "endpoints", "gateways",   "replog"};
  return names[static_cast<int>(t)];
}

std::optional<Table> table_from_name(std::string_view name) {
  for (int t = 0; t < kTableCount; ++t)
    if (name == table_name(static_cast<Table>(t))) return static_cast<Table>(t);
  return std::nullopt;
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
    if (rc != MDB_SUCCESS) throw DbError(commit_error(db_.dir_, rc));
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

// ---- Transaction ----

Transaction::Transaction(Database& db, Transaction* parent, std::uint64_t id)
    : db_(db), parent_(parent), id_(id), top_(parent ? parent->top_ : id) {}

Transaction::~Transaction() {
  if (state_ != State::kOpen) return;
  try {
    abort();
  } catch (...) {
    // An abort only drops buffered changes; what the journal holds is rolled back at next open.
  }
}

Transaction& Transaction::top() { return parent_ ? parent_->top() : *this; }

void Transaction::require_open(const char* what) const {
  if (state_ != State::kOpen)
    throw DbError(fmt::format("{}: transaction {} is already {}", what, db_.describe(id_),
                              state_ == State::kCommitted ? "committed" : "aborted"));
}

void Transaction::require_no_children(const char* what) const {
  if (open_children_ > 0)
    throw DbError(fmt::format("cannot {} transaction {}: a sub-transaction is still open", what,
                              db_.describe(id_)));
}

std::optional<std::string> Transaction::get(Table table, const std::string& key) {
  require_open("get");
  lock(table, key, LockMode::kRead);
  const Key k{table, key};
  for (Transaction* t = this; t; t = t->parent_)
    if (auto it = t->writes_.find(k); it != t->writes_.end()) return it->second;
  return db_.read(table, key);
}

void Transaction::lock(Table table, const std::string& key, LockMode mode) {
  require_open("lock");
  db_.locks_->acquire(top_, lock_resource(table, key), mode, db_.options_.lock_timeout,
                      [this](auto t) { return db_.describe(t); });
}

void Transaction::put(Table table, const std::string& key, const std::string& value) {
  change(table, key, value);
}

void Transaction::erase(Table table, const std::string& key) { change(table, key, std::nullopt); }

void Transaction::change(Table table, const std::string& key,
                         const std::optional<std::string>& value) {
  require_open("change");
  require_no_children("change");
  lock(table, key, LockMode::kWrite);
  Key k{table, key};
  // The oldest before-image is the one that undoes the whole top-level transaction. The write
  // lock keeps every other transaction off the record, so the committed value read here is
  // still the value when this transaction commits.
  Transaction& root = top();
  if (!root.journaled_.count(k)) {
    const auto before = db_.read(table, key);
    db_.append_before_image(*this, table, key, before);
    root.journaled_.insert(k);
  }
  writes_[std::move(k)] = value;
  changes_.store(writes_.size(), std::memory_order_relaxed);
}

void Transaction::commit() {
  require_open("commit");
  require_no_children("commit");
  // The group commit writes the commit mark; a transaction whose changes were all undone by
  // aborted sub-transactions only needs one to close its before-images.
  bool marked = false;
  if (parent_) {
    for (auto& [k, v] : writes_) parent_->writes_[k] = std::move(v);
  } else if (!writes_.empty() || replicated_ || retracting_) {
    try {
      db_.commit_durably(*this);
    } catch (const DbError& e) {
      // A commit that failed (a full disk) ends the transaction: none of its changes reached
      // LMDB, and holding its locks would block every later change of those records.
      writes_.clear();
      state_ = State::kAborted;
      db_.finished(*this, true);
      throw DbError(fmt::format("{}; transaction {} was rolled back", e.what(), db_.describe(id_)));
    }
    marked = true;
  }
  writes_.clear();
  state_ = State::kCommitted;
  db_.finished(*this, !marked && !journaled_.empty());
}

void Transaction::abort() {
  require_open("abort");
  require_no_children("abort");
  writes_.clear();
  state_ = State::kAborted;
  db_.finished(*this, !journaled_.empty());
}

// ---- Database ----

Database::Database()
    : journal_(std::make_unique<RollbackJournal>()), locks_(std::make_unique<LockTable>()) {}

std::unique_ptr<Database> Database::open(const std::string& dir, const Options& options) {
  std::unique_ptr<Database> db(new Database);
  db->dir_ = dir;
  db->options_ = options;
  std::error_code ec;
  if (options.create) {
    try {
      make_directories(dir, 0750);
    } catch (const std::runtime_error& e) {
      throw DbError(fmt::format("cannot create the database directory: {}", e.what()));
    }
  } else if (!std::filesystem::is_directory(dir, ec)) {
    throw DbError(fmt::format(
        "database directory {} does not exist; create the instance with oinstall", dir));
  } else if (!std::filesystem::exists(dir + "/data.mdb", ec)) {
    throw DbError(fmt::format(
        "{} holds no openoserv database (no data.mdb); create the instance with oinstall", dir));
  }

  // Ownership first: nothing below may touch a database another oserv has open.
  const std::string owner = dir + "/oserv.owner";
  db->owner_fd_.reset(::open(owner.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!db->owner_fd_)
    throw DbError(fmt::format("cannot open {}: {}", owner, std::strerror(errno)));
  if (::flock(db->owner_fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    char buf[512] = {};
    ssize_t n = ::pread(db->owner_fd_.get(), buf, sizeof buf - 1, 0);
    std::string who = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown owner";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    // Owner first: cluster managers cut long exit reasons short.
    throw DbInUse(fmt::format("database in use by another oserv ({}): {}", who, dir));
  }
  {
    // A clean close empties the owner file; content left behind names an owner that died.
    char buf[512] = {};
    ssize_t n = ::pread(db->owner_fd_.get(), buf, sizeof buf - 1, 0);
    std::string previous = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
    while (!previous.empty() && (previous.back() == '\n' || previous.back() == ' '))
      previous.pop_back();
    db->recovery_.stale_owner = previous;
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string who =
      fmt::format("instance {}, pid {}, host {}\n", options.owner_id, ::getpid(), host);
  if (::ftruncate(db->owner_fd_.get(), 0) != 0 ||
      ::pwrite(db->owner_fd_.get(), who.data(), who.size(), 0) != static_cast<ssize_t>(who.size()))
    throw DbError(fmt::format("cannot write {}: {}", owner, std::strerror(errno)));

  check(mdb_env_create(&db->env_), dir, "mdb_env_create");
  check(mdb_env_set_maxdbs(db->env_, 16), dir, "mdb_env_set_maxdbs");
  check(mdb_env_set_mapsize(db->env_, options.map_size), dir, "mdb_env_set_mapsize");
  unsigned flags = MDB_NOTLS | (options.sync ? 0 : MDB_NOSYNC);
  check(mdb_env_open(db->env_, dir.c_str(), flags, 0600), dir, "mdb_env_open");
  // LMDB opens data.mdb without O_CLOEXEC: a method program must not inherit the database.
  if (mdb_filehandle_t fd; mdb_env_get_fd(db->env_, &fd) == 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  db->check_not_truncated();
  {
    LmdbTxn txn(*db, true);
    for (int t = 0; t < kTableCount; ++t)
      check(mdb_dbi_open(txn.get(), table_name(static_cast<Table>(t)), MDB_CREATE, &db->dbis_[t]),
            dir, "mdb_dbi_open");
    txn.commit();
  }
  db->journal_->open(dir + "/odb.log");
  db->recover();
  if (!options.create && !db->initialised())
    throw DbError(
        fmt::format("database {} has no region number: it was never initialised by "
                    "oinstall or its creation was interrupted",
                    dir));
  db->load_meta_state();
  // Transaction ids: session (start time) in the high half, a counter in the low half.
  db->next_id_ = (static_cast<std::uint64_t>(::time(nullptr)) & 0xffffffffu) << 32 | 1;
  db->purger_ = std::thread([raw = db.get()] { raw->purge_when_idle(); });
  db->recovered_ = true;
  return db;
}

void Database::recover() {
  const std::string bytes = journal_->read_all();
  // Commit markers in meta ("commit/<id>") were how earlier builds proved, in sync mode, commits
  // whose journal mark a power loss may have taken; a database they left is still honoured.
  std::set<std::uint64_t> ended;
  std::vector<std::string> markers;
  for (const auto& [key, value] : scan_prefix(Table::kMeta, kCommitMarkerPrefix)) {
    markers.push_back(key);
    const std::string_view id = std::string_view(key).substr(std::strlen(kCommitMarkerPrefix));
    if (auto n = parse_number<std::uint64_t>(id)) ended.insert(*n);
  }
  if (bytes.empty() && markers.empty()) return;
  JournalScan scan = scan_journal(bytes, journal_->path());  // throws on corruption
  recovery_.journal_bytes = scan.valid_bytes;
  recovery_.torn_tail = scan.torn_tail;
  for (const auto& r : scan.records)
    if (r.type != JournalRecord::Type::kBeforeImage) ended.insert(r.top);
  std::set<std::uint64_t> undone;
  {
    LmdbTxn txn(*this, true);
    for (auto it = scan.records.rbegin(); it != scan.records.rend(); ++it) {
      if (it->type != JournalRecord::Type::kBeforeImage || ended.count(it->top)) continue;
      if (it->table >= kTableCount)
        throw JournalCorrupt(
            fmt::format("{}: before-image names unknown table {}", journal_->path(), it->table));
      apply(txn.get(), static_cast<Table>(it->table), it->key, it->before);
      undone.insert(it->top);
      ++recovery_.records_restored;
    }
    txn.commit();
  }
  check(mdb_env_sync(env_, 1), dir_, "mdb_env_sync");
  recovery_.rolled_back.assign(undone.begin(), undone.end());
  // Only once the emptied journal is durable may the markers that guard its records go.
  journal_->truncate();
  journal_->sync();
  if (!markers.empty()) {
    LmdbTxn txn(*this, true);
    for (const auto& m : markers) apply(txn.get(), Table::kMeta, m, std::nullopt);
    txn.commit();
  }
}

Database::~Database() {
  if (recovered_) try {
      std::lock_guard guard(mu_);
      // A clean close leaves an empty journal; what an open transaction journaled stays, to be
      // rolled back at the next open.
      if (open_.empty()) journal_->truncate();
      journal_->sync();
    } catch (const DbError&) {
      // The next open recovers from whatever the journal holds.
    }
  if (purger_.joinable()) {
    {
      std::lock_guard guard(mu_);
      stopping_ = true;
    }
    stop_purger_.notify_all();
    purger_.join();
  }
  for (MDB_txn* txn : readers_) mdb_txn_abort(txn);
  if (env_) mdb_env_close(env_);
  // Marks the close as clean (see RecoveryReport::stale_owner); the fd's close releases the lock.
  if (owner_fd_ && ::ftruncate(owner_fd_.get(), 0) != 0) {
  }
}

// LMDB maps data.mdb and reads its pages in place: a page beyond the end of a truncated file
// (a copy cut short, a full disk during a copy) would kill the process with SIGBUS at the first
// read. The meta page says where the last page ends; the file must reach it.
void Database::check_not_truncated() const {
  MDB_envinfo info;
  MDB_stat stat;
  check(mdb_env_info(env_, &info), dir_, "mdb_env_info");
  check(mdb_env_stat(env_, &stat), dir_, "mdb_env_stat");
  const std::string file = dir_ + "/data.mdb";
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0)
    throw DbError(fmt::format("cannot stat {}: {}", file, std::strerror(errno)));
  const auto needed = static_cast<std::uint64_t>(info.me_last_pgno + 1) * stat.ms_psize;
  if (static_cast<std::uint64_t>(st.st_size) < needed)
    throw DbError(fmt::format("{} is truncated: {} bytes, but its pages reach byte {}; it is "
                              "damaged: restore data.mdb from a backup (wbkupdb)",
                              file, st.st_size, needed));
}

std::size_t Database::backup(const std::string& target_dir) {
  try {
    make_directories(target_dir, 0700);
  } catch (const std::runtime_error& e) {
    throw DbError(fmt::format("cannot create backup directory: {}", e.what()));
  }
  std::error_code ec;
  if (!std::filesystem::is_empty(target_dir, ec))
    throw DbError(fmt::format("backup directory {} is not empty", target_dir));
  std::size_t open_top_level = 0;
  {
    std::lock_guard guard(mu_);
    for (const auto& [id, open] : open_) open_top_level += open.info.parent == 0;
  }
  // LMDB holds committed state only, and the copy reads one snapshot of it.
  check(mdb_env_copy2(env_, target_dir.c_str(), MDB_CP_COMPACT), target_dir, "mdb_env_copy2");
  // As private as the database itself, whatever mode LMDB gave the copy.
  const std::string copy = target_dir + "/data.mdb";
  if (::chmod(copy.c_str(), 0600) != 0)
    throw DbError(fmt::format("cannot restrict {} to its owner: {}", copy, std::strerror(errno)));
  return open_top_level;
}

std::string Database::describe(std::uint64_t txn) const {
  return fmt::format("{{{}:{},{}:{},{}:{}}}", region_, od_, region_, od_, txn >> 32,
                     txn & 0xffffffffu);
}

std::string Database::describe(const std::vector<std::uint64_t>& txns) const {
  std::string out;
  for (const auto id : txns) {
    if (!out.empty()) out += ' ';
    out += describe(id);
  }
  return out;
}

std::unique_ptr<Transaction> Database::begin(Transaction* parent, std::string label) {
  if (parent) parent->require_open("begin sub-transaction");
  const std::uint64_t id = next_id_++;
  std::unique_ptr<Transaction> t(new Transaction(*this, parent, id));
  if (parent) ++parent->open_children_;
  std::lock_guard guard(mu_);
  open_[id] =
      OpenInfo{t.get(), TransactionInfo{id, t->top_, parent ? parent->id_ : 0, std::move(label),
                                        std::chrono::system_clock::now(), 0}};
  return t;
}

void Database::append_before_image(const Transaction& t, Table table, const std::string& key,
                                   const std::optional<std::string>& before) {
  std::lock_guard guard(mu_);
  journal_->append_before_image(t.top_, t.id_, static_cast<std::uint8_t>(table), key, before);
}

std::uint64_t Database::journal_file_size() {
  std::lock_guard guard(mu_);
  return journal_->file_size();
}

void Database::commit_durably(Transaction& t) {
  CommitRequest request{&t};
  std::unique_lock guard(mu_);
  if (!frozen_.empty()) throw DbError(frozen_);
  commit_queue_.push_back(&request);
  while (!request.done) {
    if (leader_active_) {
      committed_.wait(guard);
      continue;
    }
    // Lead one group: every transaction queued so far shares this journal sync and LMDB commit.
    leader_active_ = true;
    std::vector<CommitRequest*> group;
    group.swap(commit_queue_);
    std::exception_ptr error;
    // The commit marks go in with the before-images, before LMDB changes: LMDB applies a group
    // in one atomic commit, so a crash before it leaves LMDB as the before-images say, and
    // whether recovery then undoes the group or not, the result is the same.
    try {
      for (auto* r : group)
        journal_->append_mark(JournalRecord::Type::kCommit, r->txn->top_, r->txn->id_);
    } catch (...) {
      error = std::current_exception();
    }
    guard.unlock();
    const std::uint64_t seq_before = last_seq_.load();
    std::array<bool, kTableCount> changed{};
    try {
      if (error) std::rethrow_exception(error);
      changed = write_group(group, seq_before);
    } catch (...) {
      error = std::current_exception();
    }
    guard.lock();
    pending_.clear();
    if (error && last_seq_.load() != seq_before) {
      // Published and not committed: the numbers are taken back, and whoever read the records
      // told so (a standby that applied them undoes them, ReplicaFollower).
      last_seq_ = seq_before;
      guard.unlock();
      if (on_published_) on_published_(seq_before);
      guard.lock();
    }
    if (!error) {
      commits_.fetch_add(group.size(), std::memory_order_relaxed);
      commit_groups_.fetch_add(1, std::memory_order_relaxed);
      const auto bound = std::lower_bound(kGroupSizeBounds.begin(), kGroupSizeBounds.end(), group.size());
      group_sizes_[static_cast<std::size_t>(bound - kGroupSizeBounds.begin())].fetch_add(
          1, std::memory_order_relaxed);
    }
    for (int t = 0; t < kTableCount && !error; ++t)
      if (changed[t]) ++generations_[t];
    // On failure each transaction's commit() rolls it back: its commit mark only says that
    // LMDB may hold it, which it does not, and its abort mark follows.
    for (auto* r : group) {
      r->error = error;
      r->done = true;
    }
    leader_active_ = false;
    committed_.notify_all();
  }
  guard.unlock();
  if (request.error) std::rethrow_exception(request.error);
  if (await_ && t.seq_ && !t.replicated_) await_(t.seq_);
}

std::array<bool, kTableCount> Database::write_group(const std::vector<CommitRequest*>& group,
                                                    std::uint64_t seq_before) {
  LmdbTxn txn(*this, true);
  // The group's records are published first, and standbys apply them while this database
  // syncs: a synchronous commit costs the slower of two durable commits, not their sum. A
  // group that then fails is taken back (commit_durably).
  std::vector<std::string> records = log_group(txn, group);
  if (!records.empty()) {
    {
      std::lock_guard guard(mu_);
      pending_ = std::move(records);
    }
    if (on_published_ && last_seq_.load() != seq_before) on_published_(last_seq_.load());
  }
  if (options_.sync) journal_->sync();
  std::array<bool, kTableCount> changed{};
  for (auto* r : group) {
    for (const auto& [k, v] : r->txn->writes_) {
      apply(txn.get(), k.first, k.second, v);
      changed[static_cast<int>(k.first)] = true;
    }
  }
  txn.commit();
  return changed;
}

std::vector<std::string> Database::log_group(LmdbTxn& txn,
                                             const std::vector<CommitRequest*>& group) {
  std::uint64_t seq = last_seq_.load();
  const std::uint64_t keep = replog_keep_.load();
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<std::string> added;
  for (auto* r : group) {
    Transaction& t = *r->txn;
    std::string record;
    if (t.replicated_) {
      for (const auto& r : *t.replicated_) {
        if (replog_seq(r) != seq + 1)
          throw DbError(fmt::format("database {}: replication record {} does not follow {}", dir_,
                                    replog_seq(r), seq));
        ++seq;
        apply(txn.get(), Table::kReplog, replog_key(seq), r);
        if (seq > keep) apply(txn.get(), Table::kReplog, replog_key(seq - keep), std::nullopt);
      }
      t.seq_ = seq;
      continue;
    } else if (t.retracting_) {
      apply(txn.get(), Table::kReplog, replog_key(seq), std::nullopt);
      --seq;
      continue;
    } else if (replog_on_.load()) {
      ReplicatedTxn rt{.seq = seq + 1, .txn = t.id_, .epoch = epoch_.load(), .committed_ms = now};
      for (const auto& [k, v] : t.writes_)
        if (replicated_key(k.first, k.second))
          rt.changes.push_back({k.first, k.second, txn.get(dbi(k.first), k.second), v});
      if (rt.changes.empty()) continue;  // only this instance's own keys changed
      record = rt.encode();
      ++seq;
    } else {
      continue;
    }
    t.seq_ = seq;
    apply(txn.get(), Table::kReplog, replog_key(seq), record);
    if (seq > keep) apply(txn.get(), Table::kReplog, replog_key(seq - keep), std::nullopt);
    added.push_back(std::move(record));
  }
  if (seq == last_seq_.load()) return added;
  apply(txn.get(), Table::kMeta, kMetaReplSeq, std::to_string(seq));
  last_seq_ = seq;
  return added;
}

std::uint64_t Database::freeze(const std::string& why) {
  std::unique_lock guard(mu_);
  frozen_ = why;
  committed_.wait(guard, [this] { return !leader_active_ && commit_queue_.empty(); });
  return last_seq_.load();
}

void Database::thaw() {
  std::lock_guard guard(mu_);
  frozen_.clear();
}

void Database::load_meta_state() {
  if (initialised()) {
    region_ = region();
    od_ = dispatcher();
  }
  if (auto seq = get_meta(kMetaReplSeq)) last_seq_ = parse_number<std::uint64_t>(*seq).value_or(0);
  if (auto epoch = get_meta(kMetaReplEpoch)) epoch_ = parse_number<std::uint64_t>(*epoch).value_or(0);
}

void Database::set_replog(bool on, std::uint64_t epoch, std::uint64_t keep) {
  epoch_ = epoch;
  replog_keep_ = std::max<std::uint64_t>(keep, 1);
  replog_on_ = on;
}

std::vector<std::string> Database::replog_after(std::uint64_t after, std::size_t max_bytes,
                                                std::uint64_t* first) {
  // The group being committed is copied before LMDB's snapshot is taken: a group whose commit
  // ends in between is then in the snapshot, or else in the copy.
  std::vector<std::string> pending;
  {
    std::lock_guard guard(mu_);
    pending = pending_;
  }
  LmdbTxn txn(*this, false);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), dbi(Table::kReplog), &cur), dir_, "cursor");
  std::vector<std::string> out;
  MDB_val k, v;
  int rc = MDB_SUCCESS;
  if (first) {
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    *first = rc == MDB_SUCCESS ? replog_seq({static_cast<const char*>(v.mv_data), v.mv_size}) : 0;
  }
  const std::string start = replog_key(after + 1);
  k = as_val(start);
  std::size_t bytes = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == MDB_SUCCESS && bytes < max_bytes;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    out.emplace_back(static_cast<const char*>(v.mv_data), v.mv_size);
    bytes += v.mv_size;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check(rc, dir_, "cursor_get");
  // Then the group being committed, if it follows.
  std::uint64_t next = out.empty() ? after + 1 : replog_seq(out.back()) + 1;
  for (auto& record : pending) {
    if (bytes >= max_bytes) break;
    const std::uint64_t seq = replog_seq(record);
    if (seq < next) continue;
    if (seq > next) break;
    bytes += record.size();
    out.push_back(std::move(record));
    ++next;
  }
  return out;
}

void Database::apply_replicated(const std::vector<std::string>& records) {
  if (records.empty()) return;
  std::uint64_t next = last_seq_.load() + 1;
  std::vector<ReplicatedTxn> txns;
  txns.reserve(records.size());
  for (const auto& record : records) {
    txns.push_back(ReplicatedTxn::decode(record));
    if (txns.back().seq != next)
      throw DbError(fmt::format("database {}: replication record {} does not follow {}", dir_,
                                txns.back().seq, next - 1));
    ++next;
  }
  auto t = begin(nullptr, fmt::format("replication {}-{}", txns.front().seq, txns.back().seq));
  for (const auto& rt : txns)
    for (const auto& c : rt.changes) {
      if (!replicated_key(c.table, c.key)) continue;
      if (c.after) t->put(c.table, c.key, *c.after);
      else t->erase(c.table, c.key);
    }
  t->replicated_ = &records;
  t->commit();
}

std::optional<std::string> Database::replog_record(std::uint64_t seq) {
  if (seq == 0) return std::nullopt;
  auto records = replog_after(seq - 1, 1);
  if (records.empty() || replog_seq(records.front()) != seq) return std::nullopt;
  return std::move(records.front());
}

ReplicatedTxn Database::retract_replicated(std::uint64_t seq) {
  const auto cannot = [&](const std::string& why) {
    return DbError(fmt::format("database {}: transaction {} cannot be undone: {}", dir_, seq, why));
  };
  if (seq == 0 || seq != last_seq_.load())
    throw cannot(fmt::format("the last is {}", last_seq_.load()));
  const auto record = replog_record(seq);
  if (!record) throw cannot("the replication log no longer holds it");
  ReplicatedTxn rt = ReplicatedTxn::decode(*record);
  auto t = begin(nullptr, fmt::format("undo replication {}", seq));
  for (const auto& c : rt.changes) {
    if (!replicated_key(c.table, c.key)) continue;
    if (c.before) t->put(c.table, c.key, *c.before);
    else t->erase(c.table, c.key);
  }
  t->retracting_ = true;
  t->commit();
  return rt;
}

void Database::finished(Transaction& t, bool end_mark) {
  if (t.parent_) {
    --t.parent_->open_children_;
  } else {
    locks_->release_all(t.id_);
  }
  std::lock_guard guard(mu_);
  open_.erase(t.id_);
  // The end mark only spares recovery work: without it recovery restores the before-images,
  // which are what LMDB holds for a transaction whose changes never reached it. So a mark that
  // cannot be written (a full disk) does not keep the transaction from ending.
  try {
    if (!t.parent_ && end_mark)
      journal_->append_mark(t.state_ == Transaction::State::kCommitted
                                ? JournalRecord::Type::kCommit
                                : JournalRecord::Type::kAbort,
                            t.top_, t.id_);
  } catch (const DbError&) {
  }
  if (open_.empty()) {
    idle_since_ = std::chrono::steady_clock::now();
    if (journal_->size() > kJournalEagerTruncate) empty_journal_locked();
  }
}

bool Database::empty_journal_locked() {
  try {
    journal_->truncate();
    purge_error_.clear();
    return true;
  } catch (const DbError& e) {
    // Not fatal: the journal holds only ended transactions' records, which recovery skips. The
    // health check reports the journal not being emptied, with this reason.
    purge_error_ = e.what();
    return false;
  }
}

std::string Database::purge_error() {
  std::lock_guard guard(mu_);
  return purge_error_;
}

// The background half of "odb.log returns to 0 bytes when idle".
void Database::purge_when_idle() {
  std::unique_lock guard(mu_);
  while (!stopping_) {
    auto wake = std::chrono::steady_clock::now() + options_.journal_idle;
    if (open_.empty() && journal_->size() > 0) {
      const auto due = idle_since_ + options_.journal_idle;
      if (std::chrono::steady_clock::now() >= due) {
        if (empty_journal_locked()) continue;
        // Try again later, not in a loop: whatever refused the truncation may last.
        wake = std::chrono::steady_clock::now() +
               std::max<std::chrono::milliseconds>(options_.journal_idle, std::chrono::seconds(1));
      } else {
        wake = due;
      }
    }
    stop_purger_.wait_until(guard, wake);
  }
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

std::optional<std::string> Database::read(Table table, const std::string& key) {
  // Reset read transactions are pooled: renewing one keeps its reader slot, where beginning a
  // new one (with MDB_NOTLS) takes the reader table's lock. This is on every change's path.
  MDB_txn* txn = nullptr;
  {
    std::lock_guard guard(readers_mu_);
    if (!readers_.empty()) {
      txn = readers_.back();
      readers_.pop_back();
    }
  }
  if (txn) {
    check(mdb_txn_renew(txn), dir_, "mdb_txn_renew");
  } else {
    check(mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn), dir_, "begin");
  }
  MDB_val k = as_val(key), v;
  const int rc = mdb_get(txn, dbi(table), &k, &v);
  std::optional<std::string> out;
  if (rc == MDB_SUCCESS) out.emplace(static_cast<const char*>(v.mv_data), v.mv_size);
  mdb_txn_reset(txn);
  {
    std::lock_guard guard(readers_mu_);
    readers_.push_back(txn);
  }
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check(rc, dir_, "get");
  return out;
}

std::vector<std::pair<std::string, std::string>> Database::scan(Table table) {
  return scan_prefix(table, {});
}

std::vector<std::pair<std::string, std::string>> Database::scan_prefix(Table table,
                                                                       std::string_view prefix) {
  LmdbTxn txn(*this, false);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), dbi(table), &cur), dir_, "cursor");
  std::vector<std::pair<std::string, std::string>> out;
  MDB_val k{prefix.size(), const_cast<char*>(prefix.data())}, v;
  int rc = mdb_cursor_get(cur, &k, &v, prefix.empty() ? MDB_FIRST : MDB_SET_RANGE);
  for (; rc == MDB_SUCCESS; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    std::string_view key(static_cast<const char*>(k.mv_data), k.mv_size);
    if (key.substr(0, prefix.size()) != prefix) break;  // past the keys with the prefix
    out.emplace_back(key, std::string_view(static_cast<const char*>(v.mv_data), v.mv_size));
  }
  mdb_cursor_close(cur);
  if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) check(rc, dir_, "cursor_get");
  return out;
}

void Database::set_sync(bool sync) {
  check(mdb_env_set_flags(env_, MDB_NOSYNC, sync ? 0 : 1), dir_, "mdb_env_set_flags");
  options_.sync = sync;
}

bool Database::initialised() { return get_meta(kMetaRegion).has_value(); }

void Database::put_meta(const std::string& key, const std::string& value) {
  auto t = begin(nullptr, "put_meta");
  t->put(Table::kMeta, key, value);
  t->commit();
  // Transaction ids carry region and dispatcher; keep them in step when oinstall sets them.
  if (key == kMetaRegion) region_ = parse_number<std::uint32_t>(value).value_or(0);
  if (key == kMetaDispatcher) od_ = parse_number<std::uint32_t>(value).value_or(0);
}

std::uint32_t Database::meta_u32(const char* key) {
  const auto v = get_meta(key);
  const auto n = v ? parse_number<std::uint32_t>(*v) : std::nullopt;
  if (!n) throw DbError(fmt::format("database {}: meta '{}' is missing or not a number", dir_, key));
  return *n;
}

std::uint32_t Database::region() { return meta_u32(kMetaRegion); }
std::uint32_t Database::dispatcher() { return meta_u32(kMetaDispatcher); }

bool Database::sync() {
  check(mdb_env_sync(env_, 1), dir_, "mdb_env_sync");
  return purge_journal();
}

bool Database::purge_journal() {
  std::lock_guard guard(mu_);
  if (!open_.empty()) return false;
  if (journal_->size() > 0) journal_->truncate();  // db_sync: the caller hears of a failure
  purge_error_.clear();
  return true;
}

std::uint64_t Database::journal_size() {
  std::lock_guard guard(mu_);
  return journal_->size();
}

std::vector<TransactionInfo> Database::transactions() {
  std::lock_guard guard(mu_);
  std::vector<TransactionInfo> out;
  for (const auto& [id, open] : open_) {
    out.push_back(open.info);
    out.back().changes = open.txn->changes_.load(std::memory_order_relaxed);
  }
  return out;
}

std::string format_time(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y/%m/%d %H:%M:%S", &tm);
  return buf;
}

std::chrono::milliseconds Database::journal_stale_for() {
  std::lock_guard guard(mu_);
  if (!open_.empty() || journal_->size() == 0) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               idle_since_);
}

std::vector<LockInfo> Database::locks() { return locks_->snapshot(); }

std::array<std::uint64_t, Database::kGroupSizeBounds.size() + 1> Database::group_sizes() const {
  std::array<std::uint64_t, kGroupSizeBounds.size() + 1> out{};
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = group_sizes_[i].load(std::memory_order_relaxed);
  return out;
}

}  // namespace openoserv::db
