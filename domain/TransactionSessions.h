// Framework transactions held open across calls (odb begin ... commit), by number.
//
// A transaction and its sub-transactions share state inside the database (the root's journaled
// records, a parent's changes, its count of open children), so every call on any member of a
// family runs under that family's one mutex; different families run concurrently. A lock wait
// holds only its own family's mutex. The map of open sessions has a mutex of its own, held only
// to find, add or remove an entry.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "Database.h"
#include "Failure.h"
#include "OservLog.h"

namespace openoserv {

class TransactionSessions {
 public:
  explicit TransactionSessions(db::Database& db) : db_(db) {}

  // A top-level transaction (parent 0) or a sub-transaction of `parent`; returns its number.
  std::uint64_t begin(std::uint64_t parent, const std::string& label);
  // Runs f(transaction) under the family's lock.
  template <typename F>
  auto with(std::uint64_t id, F&& f) {
    auto session = find(id);
    std::lock_guard guard(session->family->mu);
    return f(*session->txn);
  }
  void commit(std::uint64_t id);
  void abort(std::uint64_t id);
  // Rolls back every transaction still open, children before parents (at shutdown), logging
  // each; one that cannot be rolled back now is left to the journal's recovery at next start.
  void abort_all(OservLog& log);

 private:
  struct Family {
    std::mutex mu;
  };
  struct Session {
    std::shared_ptr<Family> family;
    std::unique_ptr<db::Transaction> txn;
  };
  std::shared_ptr<Session> find(std::uint64_t id);
  void end(std::uint64_t id, bool commit);

  db::Database& db_;
  std::mutex mu_;  // guards sessions_
  std::map<std::uint64_t, std::shared_ptr<Session>> sessions_;
};

}  // namespace openoserv
