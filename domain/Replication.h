// Standby TMR servers: the primary's side of the replication stream (ReplicationSource) and the
// standby's (ReplicaFollower). docs/REPLICATION.md describes the whole; db/Replog.h the records.
//
// The standby pulls: it asks the primary for what follows its position and waits there (a long
// poll) until a commit gives it something. Its position in each request is also its
// acknowledgement: it holds everything up to there durably. So the primary opens no connection
// and runs no thread per standby, and a standby that hangs holds only its own request.
//
// Synchronous mode: a commit returns once a standby that is in sync acknowledges it. A standby is
// in sync once it has acknowledged everything committed; one that does not acknowledge a commit
// within kSyncWait is dropped from sync (logged) so that the primary keeps working, and commits
// stop waiting for it until it has caught up again. What a standby may promise after a failover
// follows: a standby the primary counted as in sync holds every acknowledged commit.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "Database.h"
#include "OservLog.h"
#include "Records.h"

namespace openoserv {

// How long a synchronous commit waits for a standby before the standby is dropped from sync.
inline constexpr std::chrono::seconds kSyncWait{5};
// How long a standby's fetch waits at the primary for a commit.
inline constexpr std::chrono::milliseconds kFetchWait{1000};
// How many bytes of records one fetch returns at most (at least one record).
inline constexpr std::size_t kFetchBytes = 4u << 20;

enum class ReplicationMode { kOff, kAsync, kSync };
const char* mode_name(ReplicationMode mode);
// Meta "standby:<ip>:<port>" -> host name: the region's standbys (kept in its database).
inline constexpr const char* kStandbyPrefix = "standby:";
// The region's standbys as this database records them: ("ip:port", host name) each.
std::vector<std::pair<std::string, std::string>> standbys_in(db::Database& db);
// The region's epoch as this database has it (meta "repl_epoch"); `absent` when it has none.
std::uint64_t epoch_in(db::Database& db, std::uint64_t absent);

// What a fetch returns (OServ::ReplicaBatch).
struct ReplicaBatch {
  std::uint64_t primary_seq = 0, first_kept = 0, epoch = 0, bytes_behind = 0;
  bool in_sync = false;
  // The standby's last record is not the primary's under that number: the standby undoes it
  // and asks again (no records come with this).
  bool diverged = false;
  std::vector<std::string> records;
};

// A copy of the primary's database for a new standby (OServ::ReplicaCopy).
struct ReplicaCopy {
  std::string id;
  std::uint64_t size = 0;  // bytes of its data.mdb
  std::uint64_t seq = 0;   // the log position when it was begun (the copy holds at least this)
};

class ReplicationSource {
 public:
  ReplicationSource(db::Database& db, OservLog& log);
  ~ReplicationSource();
  ReplicationSource(const ReplicationSource&) = delete;
  ReplicationSource& operator=(const ReplicationSource&) = delete;

  // At a primary: turns the log on if the region has standbys (meta "standby:*"), and hooks
  // the database's commits (unhooked when this source is destroyed). Call before transactions
  // start.
  void start();
  // A standby joined (Security::join_standby): recorded in the region's database, and the log
  // started (epoch 1, asynchronous) if this is the first.
  void add_standby(const std::string& hostname, const std::string& ip, std::uint16_t port);
  // The standby `name` holds everything up to `after`, whose record has the checksum `crc`
  // (db::replog_crc; 0: it holds no record there, just after its copy, say); returns what follows
  // (waiting up to `wait` for a commit). The acknowledgement counts only if this primary's record
  // there is the same; if not, the batch says `diverged`. Records are sent as soon as they are
  // published, before they are durable here, so a standby may hold a record this primary then
  // failed to commit: that is how it learns to undo it. Throws Failure when `after` is past the
  // primary's last commit and `crc` is 0.
  ReplicaBatch fetch(const std::string& name, std::uint64_t after, std::uint32_t crc,
                     std::chrono::milliseconds wait);
  // The copy a new standby starts from: an online backup (Database::backup) in
  // DBDIR/standby-copies/ID, read in pieces, removed at copy_end (or at the next start).
  ReplicaCopy copy_begin();
  std::string copy_read(const std::string& id, std::uint64_t offset, std::uint32_t size);
  void copy_end(const std::string& id);
  // A planned switchover: until the standby `name` ("ip:port") has acknowledged `seq`, at most
  // `timeout`. Whether it did.
  bool wait_acked(const std::string& name, std::uint64_t seq, std::chrono::milliseconds timeout);
  // Called when the log starts (the first standby joined) with the epoch this primary's calls
  // carry from then on. Set before standbys join.
  void set_on_epoch(std::function<void(std::uint64_t)> f) { on_epoch_ = std::move(f); }
  std::string set_mode(const std::string& mode);
  ReplicationMode mode();
  std::vector<std::string> status();
  // Each standby heard from since this oserv started, for the metrics.
  struct StandbyFigures {
    std::string address;  // "ip:port"
    std::uint64_t behind = 0;  // transactions published here and not acknowledged there
    bool in_sync = false;
  };
  std::vector<StandbyFigures> standby_figures();
  // Groups sent to standbys and then not committed here, since this oserv started.
  std::uint64_t taken_back();
  // Wakes every waiting fetch and commit (the oserv stops).
  void stop();

 private:
  struct Standby {
    std::uint64_t acked = 0;
    bool in_sync = false;
    std::chrono::steady_clock::time_point last_seen;
  };
  // The database published records up to `seq`, or took back those after it (a lower `seq`).
  void published(std::uint64_t seq);
  // Whether this primary's record `seq` has checksum `crc`.
  bool holds(std::uint64_t seq, std::uint32_t crc);
  void await(std::uint64_t seq);
  bool acked_by_one_in_sync(std::uint64_t seq);  // mu_ held
  std::uint64_t bytes_after(std::uint64_t seq);
  std::string copy_dir(const std::string& id) const;  // throws Failure for a malformed id

  db::Database& db_;
  OservLog& log_;
  std::function<void(std::uint64_t)> on_epoch_;
  std::mutex mu_;  // guards everything below
  std::condition_variable changed_;  // a commit, an acknowledgement, or stop
  std::map<std::string, Standby> standbys_;
  std::uint64_t committed_ = 0;  // the last published
  std::uint64_t retractions_ = 0;  // how many times published records were taken back
  ReplicationMode mode_ = ReplicationMode::kOff;
  bool stopping_ = false;
};

// What a dispatcher knows of the region's epochs: the highest it has seen (meta "repl_epoch").
// A primary TMR server's calls carry its epoch; one of an older epoch than this dispatcher knows
// is refused (it was replaced by a promoted standby), one of a newer epoch raises what it knows.
class EpochFence {
 public:
  EpochFence(db::Database& db, OservLog& log);
  std::uint64_t known() const { return known_.load(); }
  // Why a call from dispatcher 1 of `epoch` is refused, or nullopt (and the epoch noted). A call
  // without an epoch (0) is not a primary's order, and is admitted.
  std::optional<std::string> admit(std::uint64_t epoch);

 private:
  db::Database& db_;
  OservLog& log_;
  std::mutex mu_;  // one raise at a time
  std::atomic<std::uint64_t> known_{0};
};

// A standby becomes the primary of the next epoch, in one transaction of its database (which
// the log records, under the new epoch, for the standbys that follow it): the epoch raised and
// where it starts (meta "epoch_start:<epoch>", for telling later which side committed what
// alone), dispatcher 1's odlist entry moved to this host, this standby taken off the list of
// standbys, and its role dropped. Returns the operator message. The caller stops the follower
// first and restarts the oserv as primary after.
// `old_primary` (a planned switchover): the primary that handed over, recorded as a standby in
// the same transaction, so the log goes on for it from where it stopped. `elected` (automatic
// promotion, Election.h): the epoch a majority granted, when later than the next one.
std::string promote_standby(db::Database& db, const std::string& hostname, const std::string& ip,
                            std::uint16_t port, const OdRecord* old_primary = nullptr,
                            std::uint64_t elected = 0);

// At a primary: the first transaction of the epoch that followed `epoch` here (0: none), and
// the newest epoch it knows (meta "epoch_start:<epoch>", written by promote_standby).
std::pair<std::uint64_t, std::uint64_t> epoch_after(db::Database& db, std::uint64_t epoch);

// The checksum (db::replog_crc) of each transaction `from` to `from` + `count` - 1 here, 0 for
// one this log does not hold; `count` is cut to kChecksumsAtOnce.
constexpr std::uint32_t kChecksumsAtOnce = 4096;
std::vector<std::uint32_t> replica_checksums(db::Database& db, std::uint64_t from,
                                             std::uint32_t count);

// Where this server's history and the winner's really split, for a primary being demoted:
// `split` (where the winner's epoch began), or lower when transactions below it differ. That
// happens when this server sent a group to a standby, failed to commit it (it crashed), and
// after its restart committed others under the same numbers before it learned that the standby
// had been promoted. `theirs(from, count)` gives the winner's checksums (replica_checksums);
// the search goes down from `split`, or from this log's end if that comes first (a server
// restored from a backup, say), in steps of kChecksumsAtOnce, at most `look_back` transactions
// (the groups in flight at a crash are far fewer), and stops at the first
// transaction both hold alike, or at one either log no longer holds (checksum 0: a record whose
// checksum is 0 stops it too). Returns the first transaction that differs (`split` when none
// below it does).
using Checksums = std::function<std::vector<std::uint32_t>(std::uint64_t from, std::uint32_t count)>;
std::uint64_t first_difference(db::Database& db, std::uint64_t split, const Checksums& theirs,
                               std::uint64_t look_back = 16 * kChecksumsAtOnce);

// A TMR server that learned it was replaced: the region is at epoch `newest`, whose primary is
// `primary`, and the epoch after this server's began there at transaction `split`; their
// histories differ from transaction `differs` (first_difference; `split` or lower). What this
// server committed from `differs` on — the other side does not have it — is written to a
// divergence report, DBDIR/divergence-epoch<E>-<time>.txt (each transaction: number, id, time,
// every record with its before- and after-image), and each such transaction is named in the
// log. The database is then marked demoted (meta role "demoted", and why), dispatcher 1's
// odlist entry moved to `primary`. Returns the report's path ("" when nothing diverged).
std::string demote(db::Database& db, OservLog& log, const OdRecord& primary, std::uint64_t newest,
                   std::uint64_t split, std::uint64_t differs);

// The standby's side: one thread that fetches from the primary and applies, for the oserv's life.
class ReplicaFollower {
 public:
  // `fetch(after, crc, wait)` calls the primary's replica_fetch (throws Unreachable, or Failure
  // when it refuses).
  using Fetch = std::function<ReplicaBatch(std::uint64_t after, std::uint32_t crc,
                                           std::chrono::milliseconds wait)>;
  ReplicaFollower(db::Database& db, OservLog& log, std::string primary, Fetch fetch);
  ~ReplicaFollower();
  ReplicaFollower(const ReplicaFollower&) = delete;
  ReplicaFollower& operator=(const ReplicaFollower&) = delete;

  void start();
  void stop();
  std::vector<std::string> status();
  // For the metrics: transactions behind the primary as of its last answer, and how many this
  // standby has undone since it started.
  std::pair<std::uint64_t, std::uint64_t> behind_and_undone();
  // How long since the primary last answered (or since start, if it never did), and whether
  // this standby was in sync then (AutoPromoter).
  std::pair<std::chrono::steady_clock::duration, bool> silence();
  // A demoted TMR server does not follow; its status says why (meta "demoted").
  void set_demoted(std::string why) { demoted_ = std::move(why); }

 private:
  void run();
  void step();
  // The checksum of this standby's record `seq` (0: it has none).
  std::uint32_t position_crc(std::uint64_t seq);
  // Undoes this standby's last record, `seq`, which the primary does not have: it goes to
  // DBDIR/undone.txt (before- and after-images) and to the log.
  void undo(std::uint64_t seq);
  // Logs a change of state: level "" (following), "^" (warning) or "!" (error). mu_ not held.
  void set_state(const char* level, const std::string& state);

  db::Database& db_;
  OservLog& log_;
  const std::string primary_;
  Fetch fetch_;
  std::mutex mu_;  // guards everything below
  std::condition_variable wake_;
  bool stopping_ = false;
  std::string state_;
  bool following_ = false;
  ReplicaBatch last_;  // the last batch's figures (records dropped)
  std::string demoted_;  // set before start
  std::uint64_t undone_ = 0;
  std::chrono::system_clock::time_point last_contact_{};
  std::chrono::steady_clock::time_point heard_ = std::chrono::steady_clock::now();
  std::thread thread_;
};

}  // namespace openoserv
