// Open framework transactions.
#include "TransactionSessions.h"

#include <sys/random.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <fmt/core.h>

namespace openoserv {

namespace {
// How often the reaper looks for families past their lease.
constexpr std::chrono::seconds kReapInterval{1};
// Rolled-back transactions remembered, so that their clients are told why.
constexpr size_t kExpiredKept = 1024;
}  // namespace

std::chrono::milliseconds TransactionSessions::Family::idle() const {
  if (busy > 0) return std::chrono::milliseconds(0);
  const auto since = Clock::now() - Clock::time_point(Clock::duration(last_used.load()));
  return std::chrono::duration_cast<std::chrono::milliseconds>(since);
}

TransactionSessions::TransactionSessions(db::Database& db, OservLog& log,
                                         std::chrono::seconds lease)
    : db_(db), log_(log), lease_(lease), reaper_([this] { reap(); }) {}

TransactionSessions::~TransactionSessions() {
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (reaper_.joinable()) reaper_.join();
}

std::shared_ptr<TransactionSessions::Session> TransactionSessions::find(Handle handle,
                                                                      const std::string& owner) {
  std::lock_guard guard(mu_);
  if (auto h = handles_.find(handle); h != handles_.end()) {
    auto session = sessions_.at(h->second);
    if (session->owner != owner)
      fail(fmt::format("transaction {} belongs to {}, not to {}: only its owner may use it",
                       db_.describe(h->second), session->owner, owner));
    return session;
  }
  if (std::find(expired_.begin(), expired_.end(), handle) != expired_.end())
    fail(fmt::format("transaction {} was rolled back: no call for longer than its lease ({} s, "
                     "--transaction-lease)",
                     handle, lease_.count()));
  fail(fmt::format("no open transaction {} on dispatcher {}", handle, db_.dispatcher()));
}

void TransactionSessions::check_alive(const Session& s) const {
  if (s.expired)
    fail(fmt::format("transaction {} was rolled back: no call for longer than its lease ({} s, "
                     "--transaction-lease)",
                     db_.describe(s.txn->id()), lease_.count()));
}

TransactionSessions::Handle TransactionSessions::new_handle() {
  for (;;) {
    Handle h = 0;
    if (::getrandom(&h, sizeof h, 0) != static_cast<ssize_t>(sizeof h))
      throw std::system_error(errno, std::generic_category(), "getrandom");
    if (h != 0 && !handles_.count(h)) return h;
  }
}

TransactionSessions::Handle TransactionSessions::begin(Handle parent, const std::string& label,
                                                       const std::string& owner) {
  auto session = std::make_shared<Session>();
  session->owner = owner;
  if (parent) {
    auto p = find(parent, owner);
    session->family = p->family;
    session->top = p->top;
    Use use(*p->family);
    std::lock_guard guard(p->family->mu);
    check_alive(*p);
    session->txn = db_.begin(p->txn.get(), label);
  } else {
    session->family = std::make_shared<Family>();
    session->family->last_used = Clock::now().time_since_epoch().count();
    session->txn = db_.begin(nullptr, label);
    session->top = session->txn->id();
  }
  const std::uint64_t id = session->txn->id();
  std::lock_guard guard(mu_);
  session->handle = new_handle();
  handles_[session->handle] = id;
  const Handle handle = session->handle;
  sessions_[id] = std::move(session);
  return handle;
}

std::optional<std::uint64_t> TransactionSessions::id_of(Handle handle) {
  std::lock_guard guard(mu_);
  auto h = handles_.find(handle);
  if (h == handles_.end()) return std::nullopt;
  return h->second;
}

void TransactionSessions::end(Handle handle, const std::string& owner, bool commit) {
  auto session = find(handle, owner);
  const std::uint64_t id = session->txn->id();
  std::optional<db::DbError> failed;
  {
    Use use(*session->family);
    std::lock_guard guard(session->family->mu);
    check_alive(*session);
    try {
      if (commit)
        session->txn->commit();
      else
        session->txn->abort();
    } catch (const db::DbError& e) {
      // A commit that failed (a full disk) has rolled the transaction back: it is over too.
      if (!session->txn->is_open()) {
        log_.line(fmt::format("^commit of transaction {} failed: {}", db_.describe(id), e.what()));
        failed = e;
      } else {
        throw;
      }
    }
  }
  {
    std::lock_guard guard(mu_);
    sessions_.erase(id);
    handles_.erase(handle);
  }
  if (failed) throw *failed;
}

void TransactionSessions::commit(Handle handle, const std::string& owner) {
  end(handle, owner, true);
}
void TransactionSessions::abort(Handle handle, const std::string& owner) {
  end(handle, owner, false);
}

std::optional<std::chrono::seconds> TransactionSessions::idle(std::uint64_t id) {
  std::lock_guard guard(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  return std::chrono::duration_cast<std::chrono::seconds>(it->second->family->idle());
}

std::vector<std::pair<std::uint64_t, std::chrono::seconds>> TransactionSessions::near_lease(
    double fraction) {
  std::vector<std::pair<std::uint64_t, std::chrono::seconds>> out;
  std::lock_guard guard(mu_);
  const std::chrono::duration<double> limit = lease_ * fraction;
  for (const auto& [id, s] : sessions_)
    if (const auto idle = s->family->idle(); id == s->top && idle > limit)
      out.emplace_back(id, std::chrono::duration_cast<std::chrono::seconds>(idle));
  return out;
}

// Every kReapInterval: the families idle past the lease leave the map (so no new call finds
// them) and are rolled back.
void TransactionSessions::reap() {
  std::unique_lock lock(mu_);
  while (!wake_.wait_for(lock, kReapInterval, [this] { return stopping_; })) {
    std::map<std::uint64_t, std::shared_ptr<Session>> expired;
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->family->idle() > lease_) {
        expired.insert(*it);
        handles_.erase(it->second->handle);
        expired_.push_back(it->second->handle);
        if (expired_.size() > kExpiredKept) expired_.pop_front();
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
    if (expired.empty()) continue;
    lock.unlock();
    roll_back(std::move(expired), "lease");
    lock.lock();
  }
}

// Rolls back `sessions`, children before parents (ids grow with creation), logging each.
void TransactionSessions::roll_back(std::map<std::uint64_t, std::shared_ptr<Session>> sessions,
                                    const char* why) {
  const bool lease = std::string_view(why) == "lease";
  for (auto it = sessions.rbegin(); it != sessions.rend(); ++it) {
    Session& s = *it->second;
    std::lock_guard guard(s.family->mu);
    const std::string id = db_.describe(it->first);
    try {
      s.expired = lease;
      s.txn->abort();
      if (lease)
        log_.line(fmt::format("^transaction {} had no call for longer than its lease ({} s, "
                              "--transaction-lease): rolled back, its locks released",
                              id, lease_.count()));
      else
        log_.line(fmt::format("shutdown: rolled back transaction {}", id));
    } catch (const db::DbError& e) {
      log_.line(fmt::format("^{}: rollback of {} failed ({}); it is redone from odb.log at the "
                            "next start",
                            lease ? "lease" : "shutdown", id, e.what()));
    }
  }
}

void TransactionSessions::abort_all() {
  std::map<std::uint64_t, std::shared_ptr<Session>> open;
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
    open.swap(sessions_);
    handles_.clear();
  }
  wake_.notify_all();
  if (reaper_.joinable()) reaper_.join();
  roll_back(std::move(open), "shutdown");
}

}  // namespace openoserv
