// The failover notice and its hooks.
#include "FailoverNotice.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include <fmt/core.h>

namespace openoserv {

namespace {

std::string physical_host() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::vector<std::string> hooks_in(const std::string& dir) {
  std::vector<std::string> hooks;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && ::access(entry.path().c_str(), X_OK) == 0)
      hooks.push_back(entry.path().string());
  std::sort(hooks.begin(), hooks.end());
  return hooks;
}

}  // namespace

void failover_notice(db::Database& db, const DispatcherInfo& info, OservLog& log,
                     MethodThreads& threads, Programs& programs) {
  const std::string current = physical_host();
  const std::string previous = db.get_meta("last_physical_host").value_or("");
  const auto& r = db.recovery();
  std::vector<std::string> reasons;
  const std::string rolled_back = db.describe(r.rolled_back);
  if (!r.rolled_back.empty())
    reasons.push_back(fmt::format("{} transaction(s) rolled back", r.rolled_back.size()));
  if (!r.stale_owner.empty())
    reasons.push_back(fmt::format("database taken over from {}", r.stale_owner));
  if (!previous.empty() && previous != current)
    reasons.push_back(fmt::format("physical host changed from {} to {}", previous, current));
  try {
    if (previous != current) db.put_meta("last_physical_host", current);
  } catch (const db::DbError& e) {
    log.line(fmt::format("^cannot record the physical host: {}", e.what()));
  }
  if (reasons.empty()) return;
  // Only a host change, after a clean stop: a planned move (crm resource move, a switchover).
  const char* kind = r.rolled_back.empty() && r.stale_owner.empty() ? "switchover" : "failover";
  std::string why;
  for (const auto& reason : reasons) why += (why.empty() ? "" : "; ") + reason;
  if (*kind == 's') why += " after a clean stop";
  log.line(fmt::format("${} notice: {}", kind, why));

  for (const auto& hook : hooks_in(info.instance.etcdir + "/failover.d")) {
    MethodThreads::Scope thread(threads, "-", "failover hook " + hook, "run");
    try {
      auto result = programs.run(
          {hook},
          {"OSERV_NOTICE=" + std::string(kind), "OSERV_INSTANCE=" + info.id(), "OSERV_LOGICAL_HOST=" + info.instance.logical_host,
           "OSERV_PREVIOUS_HOST=" + previous, "OSERV_CURRENT_HOST=" + current,
           "OSERV_ROLLED_BACK=" + rolled_back, "OSERV_STALE_OWNER=" + r.stale_owner,
           "OSERV_REASONS=" + why, "DBDIR=" + info.instance.dbdir},
          thread);
      log.line(fmt::format("failover hook {} exited {}", hook, result.exit_code));
    } catch (const ProgramError& e) {
      log.line(fmt::format("^failover hook {}: {}", hook, e.what()));
    }
  }
}

}  // namespace openoserv
