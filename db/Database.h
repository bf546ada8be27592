// The oserv's object database: an LMDB environment in DBDIR with one sub-database per table,
// framework transactions over it, and the odb.log rollback journal.
//
//   meta        key -> value          region number, dispatcher number, instance ID, settings
//   odlist      od (u32 BE) -> record the dispatchers of the region
//   objects, attributes, classes, names   framework state, keyed by OID / label
// The database stores bytes; what the records mean (and their CDR encoding) is the domain's
// (domain/Records.h).
//
// Every change goes through a Transaction. Its first change of a record appends the record's
// before-image to DBDIR/odb.log (so the journal grows while transactions run); the changes
// themselves are kept with the transaction and reach LMDB at the top-level commit, after its
// commit mark and the journal have been made durable, in one LMDB transaction. Concurrent
// commits are grouped: one journal sync and one LMDB commit serve every transaction waiting to
// commit (group commit).
// Transactions nest; a top-level transaction owns the object locks and lasts until committed or
// aborted (it may span many method calls). At open, transactions the journal shows unfinished
// are rolled back and reported (see RollbackJournal.h).
//
// One oserv at a time owns a DBDIR: open() takes an exclusive lock on DBDIR/oserv.owner and
// records who holds it, so a second opener is refused with the owner's host, pid and ID.
// All public calls are thread-safe; one Transaction is used by one thread at a time.
#pragma once

#include <lmdb.h>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "UniqueFd.h"

namespace openoserv::db {

class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The directory is owned by another running oserv (what() names it).
class DbInUse : public DbError {
 public:
  using DbError::DbError;
};

enum class Table : std::uint8_t {
  kMeta,
  kOdlist,
  kObjects,
  kAttributes,
  kClasses,
  kNames,
  kAdministrators,
  kEndpoints,  // the Endpoint Manager's endpoints (TMR server), key: the endpoint OID's key
  kGateways,   // the Endpoint Manager's gateways (TMR server), key: the gateway's label
  kReplog,     // the replication log (Replog.h), key: sequence number, big-endian
};
inline constexpr int kTableCount = 10;
const char* table_name(Table t);
// The table called `name` ("meta", "odlist", ...), if there is one.
std::optional<Table> table_from_name(std::string_view name);

// Beyond this size odb.log is emptied as soon as no transaction is open.
inline constexpr std::uint64_t kJournalEagerTruncate = 4u << 20;
// How many transactions the replication log keeps: a standby further behind copies a backup.
inline constexpr std::uint64_t kReplogKeep = 100000;

// Well-known meta keys.
inline constexpr const char* kMetaRegion = "region";
inline constexpr const char* kMetaDispatcher = "dispatcher";
inline constexpr const char* kMetaInstanceId = "instance_id";
inline constexpr const char* kMetaMethodUser = "method_user";
inline constexpr const char* kMetaCreated = "created";
inline constexpr const char* kMetaDurability = "durability";  // "sync" or "nosync"

class Database;
class LockTable;
class RollbackJournal;
struct LockInfo;
struct ReplicatedTxn;
// Shared (read) or exclusive (write) object locks, held by top-level transactions.
enum class LockMode { kRead, kWrite };

// A framework transaction. Destroying an open one aborts it.
class Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  std::uint64_t id() const { return id_; }
  std::uint64_t top_id() const { return top_; }
  // Its number in the replication log once committed (0: the log is off, or it changed nothing).
  std::uint64_t seq() const { return seq_; }
  bool top_level() const { return parent_ == nullptr; }
  bool is_open() const { return state_ == State::kOpen; }

  // Reads under a read lock; sees this transaction's and its ancestors' own changes.
  std::optional<std::string> get(Table table, const std::string& key);
  // Changes under a write lock; the first change of a record journals its before-image.
  void put(Table table, const std::string& key, const std::string& value);
  void erase(Table table, const std::string& key);
  // Takes a lock on (table, key) without reading it, held like any other until the top-level
  // transaction ends: a read-modify-write takes the write lock first, so two of them serialise
  // instead of both reading under shared locks and losing one update.
  void lock(Table table, const std::string& key, LockMode mode);

  // Sub-transaction: folds its changes into the parent. Top-level: makes them permanent
  // (durable in sync mode) and releases the locks. Throws DbError with open sub-transactions
  // (the transaction stays open), or when the changes cannot be written (a full disk): then the
  // transaction is rolled back and its locks released, and the message says so.
  void commit();
  // Drops this transaction's own changes (a sub-transaction's only), releases a top-level's locks.
  void abort();

 private:
  friend class Database;
  using Key = std::pair<Table, std::string>;
  Transaction(Database& db, Transaction* parent, std::uint64_t id);
  void change(Table table, const std::string& key, const std::optional<std::string>& value);
  void require_open(const char* what) const;
  void require_no_children(const char* what) const;
  Transaction& top();

  Database& db_;
  Transaction* parent_;
  std::uint64_t id_, top_;
  std::map<Key, std::optional<std::string>> writes_;  // nullopt: erased
  std::set<Key> journaled_;  // top-level only: records whose before-image is in odb.log
  std::atomic<std::size_t> changes_{0};  // writes_.size(), for tmstat from other threads
  int open_children_ = 0;
  std::uint64_t seq_ = 0;
  // A standby's: the primary's records it applies (in order, each the next).
  const std::vector<std::string>* replicated_ = nullptr;
  // A standby's: undoes its last record (retract_replicated).
  bool retracting_ = false;
  enum class State { kOpen, kCommitted, kAborted } state_ = State::kOpen;
};

// What tmstat shows of an open transaction.
struct TransactionInfo {
  std::uint64_t id, top, parent;  // parent 0 for a top-level transaction
  std::string label;              // who runs it (method thread), for tmstat
  std::chrono::system_clock::time_point started;
  std::size_t changes;            // records it changes
};

// "YYYY/MM/DD HH:MM:SS" in local time, as tmstat and the log print times.
std::string format_time(std::chrono::system_clock::time_point when);

// What open() found in the journal and did about it.
struct RecoveryReport {
  std::vector<std::uint64_t> rolled_back;  // transactions undone
  std::size_t records_restored = 0;
  std::uint64_t journal_bytes = 0;  // bytes of whole records found in the journal
  bool torn_tail = false;           // an incomplete last record was ignored
  // The owner recorded by an oserv that did not close the database (crash, kill -9, power loss):
  // "instance X, pid P, host H". Empty after a clean stop.
  std::string stale_owner;
};

class Database {
 public:
  struct Options {
    bool create = false;  // initialise an empty directory instead of requiring a database
    bool sync = true;     // durable commits (fsync); false only for tests and benchmarks
    std::size_t map_size = std::size_t{1} << 30;
    std::string owner_id;  // instance ID recorded in the owner file
    std::chrono::milliseconds lock_timeout{30000};
    // odb.log is emptied once no transaction has been open for this long (at once when it has
    // grown past 4 MiB). Emptying a file is a metadata update that costs more than a small
    // commit, so it is done off the commit path, by a background thread, only when idle.
    std::chrono::milliseconds journal_idle{100};
  };

  // Opens (or with create, initialises) the database in `dir` and recovers it from odb.log.
  // Throws DbError naming the directory: not a database, in use by another oserv (DbInUse),
  // a journal damaged before its end (JournalCorrupt), or LMDB errors.
  static std::unique_ptr<Database> open(const std::string& dir, const Options& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& dir() const { return dir_; }
  const RecoveryReport& recovery() const { return recovery_; }
  // Switches durability (call before transactions start): sync fsyncs every commit.
  void set_sync(bool sync);
  bool sync_mode() const { return options_.sync; }
  bool initialised();  // holds a region number

  // Starts a top-level transaction, or a sub-transaction of `parent` (which must outlive it).
  std::unique_ptr<Transaction> begin(Transaction* parent = nullptr, std::string label = {});

  // The committed state, read without locks (open transactions' changes are not in LMDB yet).
  std::optional<std::string> read(Table table, const std::string& key);
  std::vector<std::pair<std::string, std::string>> scan(Table table);
  // The records whose keys start with `prefix`, in key order (a cursor positioned with
  // MDB_SET_RANGE, so the cost is that of the matches, not of the table).
  std::vector<std::pair<std::string, std::string>> scan_prefix(Table table,
                                                               std::string_view prefix);

  // Single-change conveniences, each its own top-level transaction.
  std::optional<std::string> get_meta(const std::string& key) { return read(Table::kMeta, key); }
  void put_meta(const std::string& key, const std::string& value);
  std::uint32_t region();
  std::uint32_t dispatcher();
  // Changes whenever a commit changes `table`, so callers may cache what they derive from it.
  std::uint64_t generation(Table table) const {
    return generations_[static_cast<int>(table)].load();
  }

  // Forces everything committed onto disk (also in nosync mode) and empties the journal when
  // no transaction is open. Returns true when the journal was emptied.
  bool sync();
  // Empties the journal if no transaction is open (the idle purge). Returns true if it did.
  bool purge_journal();
  // Why the last attempt to empty odb.log failed ("" when it did not).
  std::string purge_error();
  // Bytes of records in odb.log (what tmstat -v and the health check report).
  std::uint64_t journal_size();
  // Bytes the file has on disk: its records, then the zeros it was grown by ahead of them.
  std::uint64_t journal_file_size();

  // An online backup into `target_dir` (empty or absent): LMDB's compacting copy of the
  // committed state. Returns how many top-level transactions were open (and so are not in it).
  // Throws DbError naming the directory.
  std::size_t backup(const std::string& target_dir);

  // Replication (Replog.h). The log is off unless set_replog turns it on (a primary with
  // standbys); records carry `epoch`. keep: how many records the log holds.
  void set_replog(bool on, std::uint64_t epoch, std::uint64_t keep = kReplogKeep);
  bool replog_on() const { return replog_on_.load(); }
  // The last sequence number committed (the primary's), or applied (a standby's).
  std::uint64_t last_seq() const { return last_seq_.load(); }
  // Top-level transactions committed since the database was opened, and the group commits
  // (journal syncs and LMDB commits) that carried them: commits / groups is the mean group size.
  std::uint64_t commits() const { return commits_.load(std::memory_order_relaxed); }
  std::uint64_t commit_groups() const { return commit_groups_.load(std::memory_order_relaxed); }
  // The group commits by size: how many carried at most kGroupSizeBounds[i] transactions (and
  // more than the bound before), the last entry those above every bound.
  static constexpr std::array<std::uint64_t, 8> kGroupSizeBounds = {1, 2, 4, 8, 16, 32, 64, 128};
  std::array<std::uint64_t, kGroupSizeBounds.size() + 1> group_sizes() const;
  // The records after `after`, in order, up to about `max_bytes` (at least one if there is one),
  // including those of the group being committed (published: see set_on_published). `first`
  // (if given) is set to the oldest number the log still holds (0: it is empty).
  std::vector<std::string> replog_after(std::uint64_t after, std::size_t max_bytes,
                                        std::uint64_t* first = nullptr);
  // The record numbered `seq` (published or committed), or nullopt when the log has none.
  std::optional<std::string> replog_record(std::uint64_t seq);
  // A standby applies the primary's records (ReplicatedTxn::encode; each the next: the first
  // numbered last_seq() + 1) as one transaction of its own, with the same crash safety as a
  // local commit (all or none of them after a crash), and logs each under its number. Throws
  // DbError, and applies none, when one is damaged or out of order.
  void apply_replicated(const std::vector<std::string>& records);
  void apply_replicated(const std::string& record) { apply_replicated(std::vector{record}); }
  // A standby undoes its last record (number `seq`, which must be last_seq()): the before-images
  // it carries put back, in one transaction with the same crash safety, and the log and the
  // position one shorter. For a record its primary published and then did not commit. Returns
  // the record. Throws DbError when `seq` is not the last or the log no longer holds it.
  ReplicatedTxn retract_replicated(std::uint64_t seq);
  // A planned switchover: from now on every commit fails with DbError(`why`) (its transaction
  // rolled back); returns, once the commits already under way are done, the last sequence
  // number. thaw() ends it.
  std::uint64_t freeze(const std::string& why);
  void thaw();
  // Called with the new last_seq() when a group's records are published: in the log as
  // replog_after reads it, before the group is durable here, so that standbys apply it while
  // this database syncs. Called again with the lower number when a published group then fails
  // to commit (its numbers are taken back and given to the next group). Called by the group's
  // leader, one call at a time, outside every lock of the database. Set before transactions
  // start.
  void set_on_published(std::function<void(std::uint64_t)> f) { on_published_ = std::move(f); }
  // Called by every thread whose top-level commit was logged, with its sequence number, after
  // the commit is durable here and before commit() returns (its locks still held): synchronous
  // replication waits there for a standby. Set before transactions start.
  void set_await_replicated(std::function<void(std::uint64_t)> f) { await_ = std::move(f); }

  std::vector<TransactionInfo> transactions();
  // How long odb.log has held records with no transaction open (0 when it is empty or in use):
  // the idle purge should empty it within journal_idle, so a large value means it cannot.
  std::chrono::milliseconds journal_stale_for();
  std::vector<LockInfo> locks();
  // The transaction id as tmstat prints it: {region:od,region:od,session:n}.
  std::string describe(std::uint64_t txn) const;
  // Several, separated by spaces.
  std::string describe(const std::vector<std::uint64_t>& txns) const;

 private:
  void check_not_truncated() const;
  friend class Transaction;
  class LmdbTxn;
  struct CommitRequest {
    Transaction* txn;
    bool done = false;
    std::exception_ptr error;
  };
  Database();
  void recover();
  void apply(MDB_txn* txn, Table table, const std::string& key,
             const std::optional<std::string>& value);
  // The leader, in the group's LMDB transaction: the group's records in the replication log.
  // Returns the records it made, to be published (not a standby's, which no one reads before
  // they are committed).
  std::vector<std::string> log_group(LmdbTxn& txn, const std::vector<CommitRequest*>& group);
  // The leader: the group's changes and records in LMDB, durably (journal first). Returns the
  // tables it changed.
  std::array<bool, kTableCount> write_group(const std::vector<CommitRequest*>& group,
                                            std::uint64_t seq_before);
  // At open: region and dispatcher (for transaction ids), replication position and epoch.
  void load_meta_state();
  void append_before_image(const Transaction& t, Table table, const std::string& key,
                           const std::optional<std::string>& before);
  void commit_durably(Transaction& t);
  void finished(Transaction& t, bool end_mark);
  void purge_when_idle();
  // Truncates the journal (mu_ held); a failure is kept in purge_error_, not thrown.
  bool empty_journal_locked();
  std::uint32_t meta_u32(const char* key);
  MDB_dbi dbi(Table t) const { return dbis_[static_cast<int>(t)]; }

  std::string dir_;
  Options options_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbis_[kTableCount] = {};
  UniqueFd owner_fd_;  // holds the lock on DBDIR/oserv.owner
  std::unique_ptr<RollbackJournal> journal_;
  std::unique_ptr<LockTable> locks_;
  RecoveryReport recovery_;
  bool recovered_ = false;  // open() completed; only then may the destructor touch the journal
  std::uint32_t region_ = 0, od_ = 0;  // for transaction ids; 0 until initialised
  std::atomic<std::uint64_t> next_id_{1};
  std::atomic<std::uint64_t> generations_[kTableCount] = {};
  // Replication: set by set_replog before commits start; last_seq_ written by the group's leader.
  std::atomic<bool> replog_on_{false};
  std::atomic<std::uint64_t> epoch_{0}, replog_keep_{kReplogKeep};
  std::atomic<std::uint64_t> last_seq_{0};
  std::atomic<std::uint64_t> commits_{0}, commit_groups_{0};  // commit()'s figures (metrics)
  std::array<std::atomic<std::uint64_t>, kGroupSizeBounds.size() + 1> group_sizes_{};
  std::function<void(std::uint64_t)> on_published_, await_;
  std::vector<std::string> pending_;  // mu_: the records of the group being committed
  std::mutex readers_mu_;
  std::vector<MDB_txn*> readers_;  // reset read-only transactions, see read()

  // mu_ guards the journal, the registry of open transactions and the commit queue. Journal
  // syncs and LMDB commits run outside it, by the group's leader.
  std::mutex mu_;
  struct OpenInfo {
    Transaction* txn;
    TransactionInfo info;
  };
  std::map<std::uint64_t, OpenInfo> open_;
  std::vector<CommitRequest*> commit_queue_;
  bool leader_active_ = false;
  std::condition_variable committed_;
  std::chrono::steady_clock::time_point idle_since_;
  std::string purge_error_;
  std::string frozen_;  // why commits are refused (freeze); empty: they are not
  bool stopping_ = false;
  std::condition_variable stop_purger_;
  std::thread purger_;
};

}  // namespace openoserv::db
