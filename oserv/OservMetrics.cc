// The oserv's metrics.
#include "OservMetrics.h"

#include <map>

#include <fmt/core.h>

#include "Access.h"
#include "LocalDispatcher.h"
#include "LockTable.h"

namespace openoserv {

namespace {
constexpr const char* kResults[] = {"ok", "failed", "refused", "error"};
}  // namespace

OservMetrics::Operation OservMetrics::make(const std::string& name) {
  Operation op{};
  for (int r = 0; r < 4; ++r)
    op.results[r] = &registry_.counter(
        "openoserv_calls_total", "Requests served, by IDL operation and result.",
        metrics::label("operation", name) + "," + metrics::label("result", kResults[r]));
  op.latency = &registry_.histogram("openoserv_call_duration_seconds",
                                    "Time from a request's arrival to its reply, by operation.",
                                    metrics::label("operation", name));
  return op;
}

OservMetrics::OservMetrics(const std::string& address) {
  for (const auto& rule : operation_rules()) operations_.emplace(rule.operation, make(std::string(rule.operation)));
  other_ = make("other");
  add_gauges();
  server_ = std::make_unique<metrics::Server>(registry_, address);
}

void OservMetrics::attach(LocalDispatcher* local) {
  std::lock_guard guard(mu_);
  local_ = local;
}

void OservMetrics::record(std::string_view operation, Result result,
                          std::chrono::nanoseconds took) {
  const auto it = operations_.find(operation);
  const Operation& op = it == operations_.end() ? other_ : it->second;
  op.results[static_cast<int>(result)]->add();
  op.latency->observe(took);
}

// Series from the attached run (none between runs).
template <typename F>
std::vector<std::pair<std::string, double>> OservMetrics::read(F&& f) {
  std::lock_guard guard(mu_);
  if (!local_) return {};
  return f(*local_);
}

void OservMetrics::add_gauges() {
  using Series = std::vector<std::pair<std::string, double>>;
  auto one = [](double v) { return Series{{"", v}}; };
  registry_.gauge("openoserv_method_threads", "Method threads running or waiting now (odstat).",
                  [this, one] { return read([&](LocalDispatcher& l) { return one(double(l.threads.list().size())); }); });
  registry_.gauge("openoserv_transactions_open", "Open transactions (tmstat).", [this, one] {
    return read([&](LocalDispatcher& l) { return one(double(l.db.transactions().size())); });
  });
  registry_.gauge("openoserv_locks_held", "Object locks held now (tmstat).", [this, one] {
    return read([&](LocalDispatcher& l) { return one(double(l.db.locks().size())); });
  });
  registry_.gauge("openoserv_lock_waiters", "Transactions waiting for an object lock now.",
                  [this, one] {
                    return read([&](LocalDispatcher& l) {
                      double waiting = 0;
                      for (const auto& lock : l.db.locks()) waiting += double(lock.waiters.size());
                      return one(waiting);
                    });
                  });
  registry_.gauge("openoserv_odb_log_bytes",
                  "Records in odb.log (0 when no transaction is open: growing while idle is a fault).",
                  [this, one] { return read([&](LocalDispatcher& l) { return one(double(l.db.journal_size())); }); });
  registry_.gauge("openoserv_commits_total",
                  "Top-level transactions committed since the oserv started.",
                  [this, one] { return read([&](LocalDispatcher& l) { return one(double(l.db.commits())); }); },
                  "counter");
  registry_.gauge("openoserv_commit_groups_total",
                  "Group commits (one journal sync and LMDB commit each) since the oserv started: "
                  "commits_total / commit_groups_total is the mean group size.",
                  [this, one] { return read([&](LocalDispatcher& l) { return one(double(l.db.commit_groups())); }); },
                  "counter");
  const auto& bounds = db::Database::kGroupSizeBounds;
  registry_.histogram_of(
      "openoserv_commit_group_size",
      "Top-level transactions per group commit (one journal sync and LMDB commit each).",
      std::vector<double>(bounds.begin(), bounds.end()), [this] {
        std::lock_guard guard(mu_);
        metrics::Registry::Counts c;  // between runs: no buckets, not rendered
        if (!local_) return c;
        const auto sizes = local_->db.group_sizes();
        c.buckets.assign(sizes.begin(), sizes.end());
        c.sum = double(local_->db.commits());
        c.count = local_->db.commit_groups();
        return c;
      });
  registry_.gauge("openoserv_dispatcher_up",
                  "Whether each dispatcher of the odlist answers this one now (1) or not (0).",
                  [this] {
                    return read([&](LocalDispatcher& l) {
                      Series out;
                      for (const auto& m : l.region.members())
                        out.push_back({metrics::label("od", std::to_string(m.record.od)) + "," +
                                           metrics::label("ip", m.record.ip),
                                       m.connected ? 1.0 : 0.0});
                      return out;
                    });
                  });
  registry_.gauge("openoserv_endpoints",
                  "Endpoints assigned to each gateway (TMR server: the Endpoint Manager's records).",
                  [this] {
                    return read([&](LocalDispatcher& l) {
                      Series out;
                      if (l.info.od != 1) return out;
                      std::map<std::string, double> count;
                      for (const auto& g : l.endpoint_manager.gateways()) count[g.label] = 0;
                      for (const auto& e : l.endpoint_manager.endpoints()) count[e.gateway] += 1;
                      for (const auto& [gateway, n] : count)
                        out.push_back({metrics::label("gateway", gateway), n});
                      return out;
                    });
                  });
}

}  // namespace openoserv
