// Framework transactions held open across calls (odb begin ... commit), by number.
//
// A transaction and its sub-transactions share state inside the database (the root's journaled
// records, a parent's changes, its count of open children), so every call on any member of a
// family runs under that family's one mutex; different families run concurrently. A lock wait
// holds only its own family's mutex. The map of open sessions has a mutex of its own, held only
// to find, add or remove an entry.
//
// A family has a lease: one with no call on any of its members for longer than the lease (its
// client went away) is rolled back by a reaper thread, which logs it; its locks are released.
// A later call on it fails saying so. tmstat shows each transaction's idle time.
//
// Clients hold a transaction by its handle: a random 64-bit number, not the database's
// transaction id (which is sequential, and which tmstat shows), so a handle cannot be guessed
// from another. A transaction belongs to the principal that began it (its owner, as the access
// check names the caller): a call on it by anyone else is refused.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "Database.h"
#include "Failure.h"
#include "OservLog.h"

namespace openoserv {

class TransactionSessions {
 public:
  // `lease`: how long a family may go without a call before it is rolled back.
  TransactionSessions(db::Database& db, OservLog& log, std::chrono::seconds lease);
  ~TransactionSessions();
  TransactionSessions(const TransactionSessions&) = delete;
  TransactionSessions& operator=(const TransactionSessions&) = delete;

  using Handle = std::uint64_t;
  // A top-level transaction (parent 0) or a sub-transaction of the transaction `parent`, owned
  // by `owner`; returns its handle.
  Handle begin(Handle parent, const std::string& label, const std::string& owner);
  // Runs f(transaction) under the family's lock.
  template <typename F>
  auto with(Handle handle, const std::string& owner, F&& f) {
    auto session = find(handle, owner);
    Use use(*session->family);
    std::lock_guard guard(session->family->mu);
    check_alive(*session);
    return f(*session->txn);
  }
  void commit(Handle handle, const std::string& owner);
  void abort(Handle handle, const std::string& owner);
  // The database's id of the transaction a handle names (nullopt when none is open).
  std::optional<std::uint64_t> id_of(Handle handle);
  // Rolls back every transaction still open, children before parents (at shutdown), logging
  // each; one that cannot be rolled back now is left to the journal's recovery at next start.
  // Stops the reaper first.
  void abort_all();

  // How long the family of the transaction with database id `id` has gone without a call (0
  // while one runs); nullopt for a transaction not held here (the oserv's own).
  std::optional<std::chrono::seconds> idle(std::uint64_t id);
  // Top-level transactions idle for more than `fraction` of the lease, with their idle time.
  std::vector<std::pair<std::uint64_t, std::chrono::seconds>> near_lease(double fraction);
  std::chrono::seconds lease() const { return lease_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Family {
    std::mutex mu;                            // serialises calls on the family's members
    std::atomic<Clock::rep> last_used{0};     // end of the last call (Clock ticks)
    std::atomic<int> busy{0};                 // calls running now
    std::chrono::milliseconds idle() const;
  };
  struct Session {
    std::shared_ptr<Family> family;
    std::unique_ptr<db::Transaction> txn;
    std::uint64_t top = 0;
    Handle handle = 0;
    std::string owner;
    bool expired = false;  // rolled back by the reaper (under family->mu)
  };
  // Marks a call on a family for its duration.
  class Use {
   public:
    explicit Use(Family& f) : f_(f) { ++f_.busy; }
    ~Use() {
      f_.last_used = Clock::now().time_since_epoch().count();
      --f_.busy;
    }
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    Family& f_;
  };

  std::shared_ptr<Session> find(Handle handle, const std::string& owner);
  void check_alive(const Session& s) const;
  void end(Handle handle, const std::string& owner, bool commit);
  Handle new_handle();  // mu_ held: from the kernel's random source, unused and not 0
  void reap();
  void roll_back(std::map<std::uint64_t, std::shared_ptr<Session>> sessions, const char* why);

  db::Database& db_;
  OservLog& log_;
  const std::chrono::seconds lease_;
  std::mutex mu_;  // guards sessions_, handles_, expired_ and stopping_
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;  // by database id
  std::map<Handle, std::uint64_t> handles_;                      // handle -> database id
  std::deque<Handle> expired_;  // the latest transactions rolled back at their lease
  bool stopping_ = false;
  std::condition_variable wake_;
  std::thread reaper_;  // last: it uses the members above
};

}  // namespace openoserv
