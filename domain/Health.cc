// Deep health check.
#include "Health.h"

#include <fmt/core.h>

namespace openoserv {

namespace {
// The purge empties the journal within --journal-idle-ms; this leaves a generous margin.
constexpr std::chrono::seconds kJournalStaleAfter{10};
}  // namespace

std::vector<std::string> health_problems(db::Database& db, MethodThreads& threads,
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
  return problems;
}

}  // namespace openoserv
