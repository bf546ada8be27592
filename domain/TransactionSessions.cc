// Open framework transactions.
#include "TransactionSessions.h"

#include <fmt/core.h>

namespace openoserv {

std::shared_ptr<TransactionSessions::Session> TransactionSessions::find(std::uint64_t id) {
  std::lock_guard guard(mu_);
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    fail(fmt::format("no open transaction {} on dispatcher {}", db_.describe(id),
                     db_.dispatcher()));
  return it->second;
}

std::uint64_t TransactionSessions::begin(std::uint64_t parent, const std::string& label) {
  auto session = std::make_shared<Session>();
  if (parent) {
    auto p = find(parent);
    session->family = p->family;
    std::lock_guard guard(p->family->mu);
    session->txn = db_.begin(p->txn.get(), label);
  } else {
    session->family = std::make_shared<Family>();
    session->txn = db_.begin(nullptr, label);
  }
  const std::uint64_t id = session->txn->id();
  std::lock_guard guard(mu_);
  sessions_[id] = std::move(session);
  return id;
}

void TransactionSessions::end(std::uint64_t id, bool commit) {
  auto session = find(id);
  {
    std::lock_guard guard(session->family->mu);
    if (commit)
      session->txn->commit();
    else
      session->txn->abort();
  }
  std::lock_guard guard(mu_);
  sessions_.erase(id);
}

void TransactionSessions::commit(std::uint64_t id) { end(id, true); }
void TransactionSessions::abort(std::uint64_t id) { end(id, false); }

void TransactionSessions::abort_all(OservLog& log) {
  std::map<std::uint64_t, std::shared_ptr<Session>> open;
  {
    std::lock_guard guard(mu_);
    open.swap(sessions_);
  }
  // Ids grow with creation, so the newest (children) go first.
  for (auto it = open.rbegin(); it != open.rend(); ++it) {
    std::lock_guard guard(it->second->family->mu);
    try {
      it->second->txn->abort();
      log.line(fmt::format("shutdown: rolled back transaction {}", db_.describe(it->first)));
    } catch (const db::DbError& e) {
      log.line(fmt::format("^shutdown: rollback of {} failed ({}); it is redone from odb.log at "
                           "the next start",
                           db_.describe(it->first), e.what()));
    }
  }
}

}  // namespace openoserv
