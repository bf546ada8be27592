// The replication stream, both ends (Replication.h).
#include "Replication.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <algorithm>

#include <fmt/core.h>

#include "Election.h"
#include "Failure.h"
#include "Numbers.h"
#include "Odlist.h"
#include "RegionCa.h"
#include "TextFile.h"
#include "Replog.h"
#include "UniqueFd.h"

namespace openoserv {

namespace {

constexpr const char* kCopies = "/standby-copies";
constexpr std::uint32_t kCopyPieceMax = 16u << 20;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string seconds_text(std::int64_t ms) { return fmt::format("{:.1f} s", ms / 1000.0); }

// The mode the region's database asks for once it has a standby (meta "replication").
ReplicationMode mode_in(db::Database& db) {
  return db.get_meta(db::kMetaReplication) == std::string("sync") ? ReplicationMode::kSync
                                                                   : ReplicationMode::kAsync;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> standbys_in(db::Database& db) {
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [key, host] : db.scan_prefix(db::Table::kMeta, kStandbyPrefix))
    out.emplace_back(key.substr(std::string_view(kStandbyPrefix).size()), std::move(host));
  return out;
}

std::uint64_t epoch_in(db::Database& db, std::uint64_t absent) {
  return parse_number<std::uint64_t>(db.get_meta(db::kMetaReplEpoch).value_or("")).value_or(absent);
}

const char* mode_name(ReplicationMode mode) {
  switch (mode) {
    case ReplicationMode::kOff: return "off";
    case ReplicationMode::kAsync: return "async";
    case ReplicationMode::kSync: return "sync";
  }
  return "?";
}

ReplicationSource::ReplicationSource(db::Database& db, OservLog& log) : db_(db), log_(log) {}

ReplicationSource::~ReplicationSource() {
  stop();
  // The database outlives this run of the oserv (a promotion, a demotion or a switchover starts
  // another in the same process): its hooks must not call a source that is gone. Nothing
  // commits by now (the ORB and the background threads are stopped).
  db_.set_on_published({});
  db_.set_await_replicated({});
}

void ReplicationSource::start() {
  std::error_code ec;
  std::filesystem::remove_all(db_.dir() + kCopies, ec);  // copies a stopped primary was making
  const bool has_standbys = !db_.scan_prefix(db::Table::kMeta, kStandbyPrefix).empty();
  {
    std::lock_guard guard(mu_);
    mode_ = has_standbys ? mode_in(db_) : ReplicationMode::kOff;
    committed_ = db_.last_seq();
  }
  db_.set_on_published([this](std::uint64_t seq) { published(seq); });
  db_.set_await_replicated([this](std::uint64_t seq) { await(seq); });
  if (has_standbys) db_.set_replog(true, epoch_in(db_, 1));
}

void ReplicationSource::add_standby(const std::string& hostname, const std::string& ip,
                                    std::uint16_t port) {
  const std::string address = fmt::format("{}:{}", ip, port);
  // The log is on before the standby's copy is taken: no commit after the copy goes unlogged.
  if (!db_.replog_on()) {
    auto t = db_.begin(nullptr, "join_standby");
    if (!t->get(db::Table::kMeta, db::kMetaReplEpoch)) t->put(db::Table::kMeta, db::kMetaReplEpoch, "1");
    if (!t->get(db::Table::kMeta, db::kMetaReplication))
      t->put(db::Table::kMeta, db::kMetaReplication, "async");
    t->commit();
    db_.set_replog(true, epoch_in(db_, 1));
    if (on_epoch_) on_epoch_(epoch_in(db_, 1));
  }
  auto t = db_.begin(nullptr, "join_standby");
  t->put(db::Table::kMeta, kStandbyPrefix + address, hostname);
  t->commit();
  {
    std::lock_guard guard(mu_);
    if (mode_ == ReplicationMode::kOff) mode_ = mode_in(db_);
  }
  log_.line(fmt::format("standby TMR server {} ({}) joined the region", hostname, address));
}

void ReplicationSource::published(std::uint64_t seq) {
  {
    std::lock_guard guard(mu_);
    if (seq == committed_) return;
    if (seq < committed_) {
      // Taken back: no standby holds what will be numbered after `seq` now, whatever it
      // acknowledged, and a fetch that checked its record against the one taken back must not
      // count its acknowledgement (retractions_).
      ++retractions_;
      for (auto& [name, s] : standbys_) s.acked = std::min(s.acked, seq);
      log_.line(fmt::format("^transactions {} to {} were sent to standbys and then not "
                            "committed here: standbys that hold them undo them",
                            seq + 1, committed_));
    }
    committed_ = seq;
  }
  changed_.notify_all();
}

bool ReplicationSource::holds(std::uint64_t seq, std::uint32_t crc) {
  const auto mine = db_.replog_record(seq);
  return mine && db::replog_crc(*mine) == crc;
}

bool ReplicationSource::acked_by_one_in_sync(std::uint64_t seq) {
  for (const auto& [name, s] : standbys_)
    if (s.in_sync && s.acked >= seq) return true;
  return false;
}

void ReplicationSource::await(std::uint64_t seq) {
  std::unique_lock guard(mu_);
  if (mode_ != ReplicationMode::kSync) return;
  const auto deadline = std::chrono::steady_clock::now() + kSyncWait;
  while (!stopping_ && !acked_by_one_in_sync(seq)) {
    bool any_in_sync = false;
    for (const auto& [name, s] : standbys_) any_in_sync = any_in_sync || s.in_sync;
    if (!any_in_sync) return;  // no standby to wait for: dropped, logged when it was
    if (changed_.wait_until(guard, deadline) == std::cv_status::timeout &&
        !acked_by_one_in_sync(seq)) {
      for (auto& [name, s] : standbys_) {
        if (!s.in_sync) continue;
        s.in_sync = false;
        log_.line(fmt::format("^standby {} did not confirm transaction {} within {} s: commits "
                              "no longer wait for it until it has caught up",
                              name, seq, kSyncWait.count()));
      }
      return;
    }
  }
}

ReplicaBatch ReplicationSource::fetch(const std::string& name, std::uint64_t after,
                                      std::uint32_t crc, std::chrono::milliseconds wait) {
  ReplicaBatch batch;
  std::unique_lock guard(mu_);
  for (;;) {
    if (mode_ == ReplicationMode::kOff)
      throw Failure("this TMR server has no standby recorded (replication is off)");
    // The database's own number: a commit's records are visible to a fetch a moment before its
    // leader reports it (published), never before the database counts it.
    const std::uint64_t last = std::max(committed_, db_.last_seq());
    if (after > last && crc == 0)
      throw Failure(fmt::format(
          "standby {} is at transaction {}, past this primary's last ({}): it holds "
          "transactions this primary does not have, and must be copied again",
          name, after, last));
    if (after == 0 || crc == 0) break;
    // The acknowledgement counts only for this primary's own record; checked outside the lock
    // (it reads the log), and again if records were taken back meanwhile.
    const std::uint64_t retractions = retractions_;
    guard.unlock();
    const bool same = holds(after, crc);
    guard.lock();
    if (!same) {
      batch.diverged = true;
      batch.primary_seq = std::max(committed_, db_.last_seq());
      batch.epoch = epoch_in(db_, 0);
      return batch;
    }
    if (retractions == retractions_) break;
  }
  {
    Standby& s = standbys_[name];
    s.acked = after;
    s.last_seen = std::chrono::steady_clock::now();
    changed_.notify_all();  // commits waiting for this acknowledgement
    const std::uint64_t retractions = retractions_;
    changed_.wait_for(guard, wait, [&] {
      return stopping_ || committed_ > after || retractions != retractions_;
    });
    batch.primary_seq = committed_;
  }
  guard.unlock();
  batch.records = db_.replog_after(after, kFetchBytes, &batch.first_kept);
  batch.epoch = epoch_in(db_, 0);
  batch.bytes_behind = bytes_after(after);
  const std::uint64_t reaches = batch.records.empty() ? after : db::replog_seq(batch.records.back());
  batch.primary_seq = std::max(batch.primary_seq, reaches);
  guard.lock();
  Standby& s = standbys_[name];
  // Everything committed is in this batch: from here on, commits count on this standby.
  if (!s.in_sync && reaches >= batch.primary_seq) {
    s.in_sync = true;
    if (mode_ == ReplicationMode::kSync)
      log_.line(fmt::format("standby {} is in sync at transaction {}", name, reaches));
  }
  batch.in_sync = s.in_sync;
  return batch;
}

std::uint64_t ReplicationSource::bytes_after(std::uint64_t seq) {
  std::uint64_t bytes = 0;
  for (const auto& r : db_.replog_after(seq, ~std::size_t{0} >> 1)) bytes += r.size();
  return bytes;
}

std::string ReplicationSource::copy_dir(const std::string& id) const {
  if (id.size() != 32 || !std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isxdigit(c); }))
    throw Failure(fmt::format("'{}' is not a copy this primary made", id));
  return db_.dir() + kCopies + "/" + id;
}

ReplicaCopy ReplicationSource::copy_begin() {
  if (mode() == ReplicationMode::kOff)
    throw Failure("this TMR server has no standby recorded: join it first (oinstall --standby)");
  ReplicaCopy copy{.id = tls::random_hex(16), .size = 0, .seq = db_.last_seq()};
  const std::string dir = copy_dir(copy.id);
  std::filesystem::create_directories(dir);
  db_.backup(dir);
  std::error_code ec;
  copy.size = std::filesystem::file_size(dir + "/data.mdb", ec);
  if (ec) throw Failure(fmt::format("{}/data.mdb: {}", dir, ec.message()));
  log_.line(fmt::format("copy {} of the database made for a standby ({} bytes, transaction {})",
                        copy.id, copy.size, copy.seq));
  return copy;
}

std::string ReplicationSource::copy_read(const std::string& id, std::uint64_t offset,
                                         std::uint32_t size) {
  const std::string file = copy_dir(id) + "/data.mdb";
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw Failure(fmt::format("copy {}: {}", id, std::strerror(errno)));
  std::string out(std::min(size, kCopyPieceMax), '\0');
  const ssize_t n = ::pread(fd.get(), out.data(), out.size(), static_cast<off_t>(offset));
  if (n < 0) throw Failure(fmt::format("copy {}: {}", id, std::strerror(errno)));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

void ReplicationSource::copy_end(const std::string& id) {
  std::error_code ec;
  std::filesystem::remove_all(copy_dir(id), ec);
}

bool ReplicationSource::wait_acked(const std::string& name, std::uint64_t seq,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock guard(mu_);
  return changed_.wait_for(guard, timeout, [&] {
    const auto it = standbys_.find(name);
    return stopping_ || (it != standbys_.end() && it->second.acked >= seq);
  });
}

std::string ReplicationSource::set_mode(const std::string& mode) {
  if (mode.rfind("auto_promote ", 0) == 0) return set_auto_promote(db_, mode.substr(13));
  if (mode != "sync" && mode != "async")
    throw Failure(fmt::format("replication mode '{}': say sync, async, or auto_promote "
                              "SECONDS|off",
                              mode));
  {
    std::lock_guard guard(mu_);
    if (mode_ == ReplicationMode::kOff)
      throw Failure("this TMR server has no standby (oinstall --standby adds one); the mode is "
                    "set once it has");
  }
  db_.put_meta(db::kMetaReplication, mode);
  {
    std::lock_guard guard(mu_);
    mode_ = mode == "sync" ? ReplicationMode::kSync : ReplicationMode::kAsync;
  }
  changed_.notify_all();
  return mode == "sync" ? "Replication is synchronous: a commit is acknowledged once a standby "
                          "in sync holds it durably."
                        : "Replication is asynchronous: commits do not wait for standbys.";
}

ReplicationMode ReplicationSource::mode() {
  std::lock_guard guard(mu_);
  return mode_;
}

std::vector<std::string> ReplicationSource::status() {
  std::vector<std::string> out;
  std::map<std::string, Standby> standbys;
  std::uint64_t committed = 0;
  ReplicationMode mode;
  {
    std::lock_guard guard(mu_);
    standbys = standbys_;
    committed = std::max(committed_, db_.last_seq());
    mode = mode_;
  }
  if (mode == ReplicationMode::kOff) {
    const auto epoch = db_.get_meta(db::kMetaReplEpoch);
    if (!epoch) return {"Replication: off (no standby TMR server)"};
    return {fmt::format("Replication: primary, epoch {}; no standby TMR server (oinstall "
                        "--standby adds one)",
                        *epoch)};
  }
  out.push_back(fmt::format("Replication: primary, epoch {}, {}, last transaction {}",
                            db_.get_meta(db::kMetaReplEpoch).value_or("1"), mode_name(mode),
                            committed));
  const auto now = std::chrono::steady_clock::now();
  for (const auto& [address, host] : standbys_in(db_)) {
    const auto it = standbys.find(address);
    if (it == standbys.end()) {
      out.push_back(fmt::format("  standby {} ({}): not heard from since this oserv started", host,
                                address));
      continue;
    }
    const Standby& s = it->second;
    const auto next = db_.replog_after(s.acked, 1);
    const std::int64_t behind_ms =
        next.empty() ? 0 : now_ms() - db::ReplicatedTxn::decode(next.front()).committed_ms;
    out.push_back(fmt::format(
        "  standby {} ({}): at {}, behind {} transactions, {} bytes, {}; {}; heard {} ago", host,
        address, s.acked, committed > s.acked ? committed - s.acked : 0, bytes_after(s.acked),
        seconds_text(behind_ms),
        s.in_sync ? "in sync" : "catching up",
        seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(now - s.last_seen).count())));
  }
  out.push_back(auto_promote_status(db_));
  return out;
}

std::vector<ReplicationSource::StandbyFigures> ReplicationSource::standby_figures() {
  std::lock_guard guard(mu_);
  std::vector<StandbyFigures> out;
  for (const auto& [address, s] : standbys_)
    out.push_back({address, committed_ > s.acked ? committed_ - s.acked : 0, s.in_sync});
  return out;
}

std::uint64_t ReplicationSource::taken_back() {
  std::lock_guard guard(mu_);
  return retractions_;
}

void ReplicationSource::stop() {
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
}

// ---- Epochs and promotion ---------------------------------------------------------------------

EpochFence::EpochFence(db::Database& db, OservLog& log) : db_(db), log_(log) {
  known_ = epoch_in(db_, 0);
}

std::optional<std::string> EpochFence::admit(std::uint64_t epoch) {
  // No epoch at all: not a primary TMR server's order (a client with the TMR server's
  // certificate, a TMR server that never had a standby). A primary that was replaced had one,
  // and its calls carry its epoch.
  if (epoch == 0) return std::nullopt;
  const std::uint64_t known = known_.load();
  if (epoch < known)
    return fmt::format("dispatcher 1 of epoch {} is no longer the TMR server: this region is at "
                       "epoch {} (a standby was promoted)",
                       epoch, known);
  if (epoch == known) return std::nullopt;
  std::lock_guard guard(mu_);
  if (epoch <= known_.load()) return std::nullopt;
  db_.put_meta(db::kMetaReplEpoch, std::to_string(epoch));
  known_ = epoch;
  if (epoch > 1)  // the first epoch is no news
    log_.line(fmt::format("the region is at epoch {} now: dispatcher 1 of an older epoch is refused",
                        epoch));
  return std::nullopt;
}

std::string promote_standby(db::Database& db, const std::string& hostname, const std::string& ip,
                            std::uint16_t port, const OdRecord* old_primary,
                            std::uint64_t elected) {
  const std::uint64_t epoch = std::max(epoch_in(db, 1) + 1, elected);
  const std::uint64_t from = db.last_seq() + 1;
  db.set_replog(true, epoch);
  auto t = db.begin(nullptr, "promote");
  t->put(db::Table::kMeta, db::kMetaReplEpoch, std::to_string(epoch));
  t->put(db::Table::kMeta, fmt::format("epoch_start:{:020}", epoch), std::to_string(from));
  t->erase(db::Table::kMeta, fmt::format("{}{}:{}", kStandbyPrefix, ip, port));
  t->erase(db::Table::kMeta, db::kMetaRole);
  if (old_primary)
    t->put(db::Table::kMeta, fmt::format("{}{}:{}", kStandbyPrefix, old_primary->ip, old_primary->port),
           old_primary->label());
  odlist::lock(*t);
  OdRecord tmr = odlist::find(*t, kTmrDispatcher).value_or(OdRecord{.od = kTmrDispatcher});
  tmr.ip = ip;
  tmr.port = port;
  tmr.hostnames = {hostname};
  tmr.force_bind = true;
  odlist::put(*t, tmr);
  t->commit();
  return fmt::format("Promoted: this oserv is the TMR server of region {} at epoch {}, from "
                     "transaction {}; it restarts as primary now and tells every dispatcher.",
                     db.region(), epoch, from);
}

std::pair<std::uint64_t, std::uint64_t> epoch_after(db::Database& db, std::uint64_t epoch) {
  std::uint64_t first = 0, newest = 0, first_epoch = ~std::uint64_t{0};
  for (const auto& [key, value] : db.scan_prefix(db::Table::kMeta, "epoch_start:")) {
    const auto e = parse_number<std::uint64_t>(key.substr(12));
    const auto start = parse_number<std::uint64_t>(value);
    if (!e || !start) continue;
    newest = std::max(newest, *e);
    if (*e > epoch && *e < first_epoch) {
      first_epoch = *e;
      first = *start;
    }
  }
  newest = std::max(newest, epoch_in(db, 0));
  return {first, newest};
}

std::vector<std::uint32_t> replica_checksums(db::Database& db, std::uint64_t from,
                                             std::uint32_t count) {
  std::vector<std::uint32_t> out;
  for (std::uint64_t seq = from; seq < from + std::min(count, kChecksumsAtOnce); ++seq) {
    const auto record = seq > 0 ? db.replog_record(seq) : std::nullopt;
    out.push_back(record ? db::replog_crc(*record) : 0);
  }
  return out;
}

std::uint64_t first_difference(db::Database& db, std::uint64_t split, const Checksums& theirs,
                               std::uint64_t look_back) {
  // Numbers past this log's end hold nothing of this server's to compare or report.
  std::uint64_t differs = std::min(split, db.last_seq() + 1);
  const std::uint64_t lowest = differs > look_back ? differs - look_back : 1;
  while (differs > lowest) {
    const std::uint64_t from = std::max(lowest, differs > kChecksumsAtOnce ? differs - kChecksumsAtOnce : 1);
    const auto count = static_cast<std::uint32_t>(differs - from);
    const auto crcs = theirs(from, count);
    if (crcs.size() != count)
      fail(fmt::format("the primary gave {} checksums of transactions {} to {}, not {}",
                       crcs.size(), from, differs - 1, count));
    for (std::uint64_t seq = differs - 1; seq >= from; --seq) {
      const auto mine = db.replog_record(seq);
      const std::uint32_t other = crcs[seq - from];
      if (!mine || other == 0 || db::replog_crc(*mine) == other) return differs;
      differs = seq;
    }
  }
  return differs;
}

namespace {

// Bytes as text: printable ASCII as is, the rest as \xNN; "(absent)" for no record.
std::string shown(const std::optional<std::string>& bytes) {
  if (!bytes) return "(absent)";
  std::string out;
  for (unsigned char c : *bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') out += static_cast<char>(c);
    else out += fmt::format("\\x{:02x}", c);
  }
  return out;
}

std::string utc(std::int64_t ms) {
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y/%m/%d %H:%M:%S UTC", &tm);
  return buf;
}

// One transaction of a report: its number, id, epoch and time, and each record's images.
std::string transaction_text(db::Database& db, const db::ReplicatedTxn& t) {
  std::string text = fmt::format("\ntransaction {} (id {}, epoch {}), committed {}\n", t.seq,
                                 db.describe(t.txn), t.epoch, utc(t.committed_ms));
  for (const auto& c : t.changes)
    text += fmt::format("  {}/{}: {} -> {}\n", db::table_name(c.table), shown(c.key),
                        shown(c.before), shown(c.after));
  return text;
}

}  // namespace

std::string demote(db::Database& db, OservLog& log, const OdRecord& primary, std::uint64_t newest,
                   std::uint64_t split, std::uint64_t differs) {
  const std::uint64_t mine = epoch_in(db, 0);
  const std::string where = fmt::format("{} ({}:{})", primary.label(), primary.ip, primary.port);
  differs = std::min(differs, split);
  std::vector<db::ReplicatedTxn> alone;
  if (differs > 0)
    for (const auto& record : db.replog_after(differs - 1, ~std::size_t{0} >> 1))
      alone.push_back(db::ReplicatedTxn::decode(record));
  std::string path;
  if (!alone.empty()) {
    path = fmt::format("{}/divergence-epoch{}-{}.txt", db.dir(), mine, ::time(nullptr));
    std::string text = fmt::format(
        "# openoserv divergence report, region {}\n"
        "# This TMR server was the primary of epoch {} and learned on {} that the region is at\n"
        "# epoch {}, whose primary is {}. The epoch after {} began there at transaction {}:\n"
        "# the {} transaction(s) below were committed here alone, and the other side does not\n"
        "# have them. Records are table/key: before -> after (bytes as text, others as \\xNN).\n",
        db.region(), mine, utc(now_ms()), newest, where, mine, split, alone.size());
    if (alone.front().seq < split)
      text += fmt::format(
          "# Transactions {} to {} come before that start, but the other side holds others under\n"
          "# their numbers: this server sent them to a standby, did not commit them (it stopped),\n"
          "# and committed these instead once it ran again, before it learned of the new epoch.\n",
          alone.front().seq, std::min(split - 1, alone.back().seq));
    for (const auto& t : alone) text += transaction_text(db, t);
    write_file_atomically(path, text, 0600);
    for (const auto& t : alone)
      log.line(fmt::format("^diverged: transaction {} ({}, {} record(s)) was committed here alone; "
                           "it is in {}",
                           t.seq, db.describe(t.txn), t.changes.size(), path));
  }
  const std::string why = fmt::format(
      "demoted at epoch {}: the region is at epoch {} with the primary {}; {}; 'odadmin rejoin' "
      "copies that primary's database and follows it, 'odadmin promote' makes this side the "
      "winner instead",
      mine, newest, where,
      alone.empty() ? "nothing was committed here alone"
                    : fmt::format("{} transaction(s) committed here alone are in {}", alone.size(), path));
  db.set_replog(false, mine);
  auto t = db.begin(nullptr, "demote");
  t->put(db::Table::kMeta, db::kMetaRole, "demoted");
  t->put(db::Table::kMeta, db::kMetaDemoted, why);
  t->put(db::Table::kMeta, db::kMetaReplEpoch, std::to_string(std::max(mine, newest)));
  odlist::lock(*t);
  odlist::put(*t, primary);
  t->commit();
  log.line("^" + why);
  return path;
}

// ---- The standby ------------------------------------------------------------------------------

ReplicaFollower::ReplicaFollower(db::Database& db, OservLog& log, std::string primary, Fetch fetch)
    : db_(db), log_(log), primary_(std::move(primary)), fetch_(std::move(fetch)) {}

ReplicaFollower::~ReplicaFollower() { stop(); }

void ReplicaFollower::start() {
  thread_ = std::thread([this] { run(); });
}

void ReplicaFollower::stop() {
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReplicaFollower::set_state(const char* level, const std::string& state) {
  {
    std::lock_guard guard(mu_);
    if (state_ == state) return;
    state_ = state;
    following_ = level[0] == '\0';
  }
  log_.line(fmt::format("{}standby: {}", level, state));
}

void ReplicaFollower::run() {
  for (;;) {
    std::chrono::seconds pause{0};
    try {
      step();
    } catch (const Unreachable& e) {
      set_state("^", fmt::format("the primary {} does not answer: {}", primary_, e.what()));
      pause = std::chrono::seconds(1);
    } catch (const Failure& e) {
      set_state("^", fmt::format("the primary {} refuses: {}", primary_, e.what()));
      pause = std::chrono::seconds(5);
    } catch (const db::DbError& e) {
      set_state("!", fmt::format("cannot apply the primary's transactions: {}", e.what()));
      pause = std::chrono::seconds(10);
    }
    std::unique_lock guard(mu_);
    if (stopping_) return;
    if (pause.count()) wake_.wait_for(guard, pause, [&] { return stopping_; });
    if (stopping_) return;
  }
}

std::uint32_t ReplicaFollower::position_crc(std::uint64_t seq) {
  const auto mine = db_.replog_record(seq);
  return mine ? db::replog_crc(*mine) : 0;
}

void ReplicaFollower::undo(std::uint64_t seq) {
  // Kept before it is undone: a crash in between leaves it in the report and still applied.
  const auto mine = db_.replog_record(seq);
  if (!mine)
    throw db::DbError(fmt::format("the primary does not have transaction {} as this standby "
                                  "does, and the standby's log no longer holds it to undo it: "
                                  "copy the primary again (oinstall --standby)",
                                  seq));
  const db::ReplicatedTxn t = db::ReplicatedTxn::decode(*mine);
  const std::string path = db_.dir() + "/undone.txt";
  try {
    std::string text = read_text_file(path).value_or(
        "# openoserv: transactions a standby applied and then undid because its primary did not\n"
        "# have them under their numbers (sent, then not committed there; or another primary's\n"
        "# log). Records are table/key: before -> after (bytes as text, others as \\xNN).\n");
    text += fmt::format("\nundone {}, the primary being {}:", utc(now_ms()), primary_);
    text += transaction_text(db_, t);
    write_file_atomically(path, text, 0600);
  } catch (const std::runtime_error& e) {
    throw db::DbError(fmt::format("transaction {} is to be undone, and cannot be kept first: {}",
                                  seq, e.what()));
  }
  db_.retract_replicated(seq);
  {
    std::lock_guard guard(mu_);
    ++undone_;
  }
  log_.line(fmt::format("^standby: undid transaction {} ({}, {} record(s)): the primary {} does "
                        "not have it under that number; it is in {}",
                        seq, db_.describe(t.txn), t.changes.size(), primary_, path));
}

void ReplicaFollower::step() {
  const std::uint64_t after = db_.last_seq();
  ReplicaBatch batch = fetch_(after, position_crc(after), kFetchWait);
  if (batch.diverged) {
    undo(after);
    return;
  }
  if (batch.records.empty() && batch.primary_seq > after)
    throw Failure(fmt::format("its log starts at transaction {} and this standby is at {}: it "
                              "needs a new copy (oinstall --standby)",
                              batch.first_kept, after));
  // One transaction per batch: a standby that is behind catches up at the speed of its disk,
  // not of one commit per record.
  {
    std::lock_guard guard(mu_);
    if (stopping_) return;
  }
  db_.apply_replicated(batch.records);
  batch.records.clear();
  {
    std::lock_guard guard(mu_);
    last_ = std::move(batch);
    last_contact_ = std::chrono::system_clock::now();
    heard_ = std::chrono::steady_clock::now();
  }
  set_state("", fmt::format("following the primary {}", primary_));
}

std::pair<std::uint64_t, std::uint64_t> ReplicaFollower::behind_and_undone() {
  std::lock_guard guard(mu_);
  const std::uint64_t at = db_.last_seq();
  return {last_.primary_seq > at ? last_.primary_seq - at : 0, undone_};
}

std::pair<std::chrono::steady_clock::duration, bool> ReplicaFollower::silence() {
  std::lock_guard guard(mu_);
  return {std::chrono::steady_clock::now() - heard_, last_.in_sync};
}

std::vector<std::string> ReplicaFollower::status() {
  if (!demoted_.empty())
    return {fmt::format("Replication: demoted TMR server, not following the primary {}", primary_),
            "  " + demoted_};
  std::lock_guard guard(mu_);
  const std::uint64_t at = db_.last_seq();
  const auto since = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now() - last_contact_)
                         .count();
  std::vector<std::string> out;
  out.push_back(fmt::format("Replication: standby of the primary {}, epoch {}", primary_,
                            db_.get_meta(db::kMetaReplEpoch).value_or("?")));
  if (last_contact_ == std::chrono::system_clock::time_point{}) {
    out.push_back(fmt::format("  at transaction {}; not yet heard from the primary", at));
  } else {
    out.push_back(fmt::format(
        "  at transaction {} of {}, behind {} transactions, {} bytes; {}; heard {} ago", at,
        last_.primary_seq, last_.primary_seq > at ? last_.primary_seq - at : 0,
        last_.primary_seq > at ? last_.bytes_behind : 0,
        last_.in_sync ? "in sync" : "catching up", seconds_text(since)));
  }
  if (!following_ && !state_.empty()) out.push_back("  " + state_);
  if (undone_ > 0)
    out.push_back(fmt::format("  undid {} transaction(s) its primary does not have since this oserv "
                              "started; they are in {}/undone.txt",
                              undone_, db_.dir()));
  return out;
}

}  // namespace openoserv
