// Deep health check.
#include "Health.h"

#include <fmt/core.h>

namespace openoserv {

namespace {
// The purge empties the journal within --journal-idle-ms; this leaves a generous margin.
constexpr std::chrono::seconds kJournalStaleAfter{10};
// A transaction idle for this share of its lease is reported before it is rolled back.
constexpr double kNearLease = 0.8;
}  // namespace

std::vector<std::string> health_problems(db::Database& db, MethodThreads& threads,
                                         TransactionSessions& transactions,
                                         std::chrono::seconds max_method_age) {
  std::vector<std::string> problems;
  if (const auto stale = db.journal_stale_for(); stale > kJournalStaleAfter) {
    const std::string why = db.purge_error();
    problems.push_back(fmt::format("odb.log holds {} bytes with no transaction open for {} s: the "
                                   "journal is not being emptied ({})",
                                   db.journal_size(),
                                   std::chrono::duration_cast<std::chrono::seconds>(stale).count(),
                                   why.empty() ? "check the disk and the oservlog" : why));
  }
  for (const auto& [t, age] : threads.older_than(max_method_age))
    problems.push_back(fmt::format("method thread {} ({} {} on {}) has been in state {} for {} s, "
                                   "since {}",
                                   t.id, t.method, t.pid ? fmt::format("pid {}", t.pid) : "",
                                   t.oid, t.state, age, t.started));
  for (const auto& [id, idle] : transactions.near_lease(kNearLease))
    problems.push_back(fmt::format("transaction {} has had no call for {} s; it is rolled back "
                                   "at {} s (--transaction-lease): is its client still there?",
                                   db.describe(id), idle.count(),
                                   transactions.lease().count()));
  return problems;
}

}  // namespace openoserv
