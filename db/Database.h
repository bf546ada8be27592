// The oserv's object database: an LMDB environment in DBDIR with one sub-database per table,
// framework transactions over it, and the odb.log rollback journal that makes them atomic.
//
//   meta        key -> value          region number, dispatcher number, instance ID, settings
//   odlist      od (u32 BE) -> text   the dispatchers of the region (OdRecord)
//   objects, attributes, classes, names   framework state, keyed by OID / label
//
// Every change goes through a Transaction: its record's before-image is appended to DBDIR/odb.log
// and made durable first, then LMDB is changed. Transactions nest; a top-level transaction owns
// the object locks and lasts until committed or aborted (it may span many method calls). At
// open, transactions left without a commit mark are rolled back (see RollbackJournal.h).
//
// One oserv at a time owns a DBDIR: open() takes an exclusive lock on DBDIR/oserv.owner and
// records who holds it, so a second opener is refused with the owner's host, pid and ID.
// All public calls are thread-safe.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

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

enum class Table : std::uint8_t { kMeta, kOdlist, kObjects, kAttributes, kClasses, kNames };
inline constexpr int kTableCount = 6;
const char* table_name(Table t);

// One dispatcher of the region, as the odlist stores it.
struct OdRecord {
  std::uint32_t od = 0;
  std::uint16_t port = 0;
  std::string ip;
  std::vector<std::string> hostnames;  // logical host first, then aliases
  bool force_bind = false;

  std::string encode() const;
  // Throws DbError naming the od when the stored text is not a record.
  static OdRecord decode(std::uint32_t od, const std::string& text);
};

// Well-known meta keys.
inline constexpr const char* kMetaRegion = "region";
inline constexpr const char* kMetaDispatcher = "dispatcher";
inline constexpr const char* kMetaInstanceId = "instance_id";
inline constexpr const char* kMetaCreated = "created";

class Database;
class LockTable;
class RollbackJournal;
struct LockInfo;

// A framework transaction. Destroying an open one aborts it.
class Transaction {
 public:
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  std::uint64_t id() const { return id_; }
  std::uint64_t top_id() const { return top_; }
  bool top_level() const { return parent_ == nullptr; }

  // Reads under a read lock (sees this transaction's own changes).
  std::optional<std::string> get(Table table, const std::string& key);
  // Changes under a write lock; the before-image is journaled durably first.
  void put(Table table, const std::string& key, const std::string& value);
  void erase(Table table, const std::string& key);

  // Sub-transaction: folds its changes into the parent. Top-level: makes them permanent
  // (durable in sync mode) and releases the locks. Throws DbError with open sub-transactions.
  void commit();
  // Undoes this transaction's own changes (a sub-transaction's only), releases a top-level's locks.
  void abort();

 private:
  friend class Database;
  struct Undo {
    Table table;
    std::string key;
    std::optional<std::string> before;
  };
  Transaction(Database& db, Transaction* parent, std::uint64_t id);
  void change(Table table, const std::string& key, const std::optional<std::string>& value);
  void require_open(const char* what) const;

  Database& db_;
  Transaction* parent_;
  std::uint64_t id_, top_;
  std::vector<Undo> undo_;
  int open_children_ = 0;
  enum class State { kOpen, kCommitted, kAborted } state_ = State::kOpen;
};

// What tmstat shows of an open transaction.
struct TransactionInfo {
  std::uint64_t id, top, parent;  // parent 0 for a top-level transaction
  std::string label;              // who runs it (method thread), for tmstat
  std::string started;            // ISO time
  std::size_t changes;            // before-images it holds
};

// What open() found in the journal and did about it.
struct RecoveryReport {
  std::vector<std::uint64_t> rolled_back;  // transactions undone
  std::size_t records_restored = 0;
  std::uint64_t journal_bytes = 0;  // journal size found
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
  bool initialised();  // holds a region number

  // Starts a top-level transaction, or a sub-transaction of `parent` (which must outlive it).
  std::unique_ptr<Transaction> begin(Transaction* parent = nullptr, std::string label = {});

  // The current state, read without locks: it includes changes of open transactions (they are
  // written through and undone on abort). Transactions read with Transaction::get.
  std::optional<std::string> read(Table table, const std::string& key);
  std::vector<std::pair<std::string, std::string>> scan(Table table);

  // Single-change conveniences, each its own top-level transaction.
  std::optional<std::string> get_meta(const std::string& key) { return read(Table::kMeta, key); }
  void put_meta(const std::string& key, const std::string& value);
  std::uint32_t region();
  std::uint32_t dispatcher();
  std::vector<OdRecord> odlist();
  std::optional<OdRecord> od(std::uint32_t od);
  void put_od(const OdRecord& record);

  // Forces everything committed onto disk (also in nosync mode) and empties the journal when
  // no transaction is open. Returns true when the journal was emptied.
  bool sync();
  // Empties the journal if no transaction is open (the idle purge). Returns true if it did.
  bool purge_journal();
  std::uint64_t journal_size();

  // An online backup into `target_dir` (empty or absent): LMDB's compacting copy plus the
  // journal, taken while changes are held off for a moment, then recovered in place so the copy
  // holds exactly the committed state. Returns the copy's recovery (the transactions that were
  // open and are not in it). Throws DbError naming the directory.
  RecoveryReport backup(const std::string& target_dir);

  // The offline check: every odlist record decodes, every attribute ("<OID>/<name>") and name
  // ("<resource>/<label>" -> OID) refers to an existing object. One line per problem.
  std::vector<std::string> verify();

  std::vector<TransactionInfo> transactions();
  std::vector<LockInfo> locks();
  // The transaction id as tmstat prints it: {region:od,region:od,session:n}.
  std::string describe(std::uint64_t txn) const;

 private:
  friend class Transaction;
  class LmdbTxn;
  Database();
  void recover();
  void apply(MDB_txn* txn, Table table, const std::string& key,
             const std::optional<std::string>& value);
  void write(Table table, const std::string& key, const std::optional<std::string>& value);
  void restore(const std::vector<Transaction::Undo>& undo);
  void finished(Transaction& t);
  std::uint32_t meta_u32(const char* key);
  MDB_dbi dbi(Table t) const { return dbis_[static_cast<int>(t)]; }

  std::string dir_;
  Options options_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbis_[kTableCount] = {};
  int owner_fd_ = -1;
  std::unique_ptr<RollbackJournal> journal_;
  std::unique_ptr<LockTable> locks_;
  RecoveryReport recovery_;
  std::uint32_t region_ = 0, od_ = 0;  // for transaction ids; 0 until initialised

  std::shared_mutex change_mu_;  // changes share it; backup() holds it alone
  std::mutex mu_;  // guards the journal's open/close accounting and the registry below
  std::map<std::uint64_t, TransactionInfo> open_;
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace openoserv::db
