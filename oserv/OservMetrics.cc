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
  add_replication_gauges();
  metrics::add_process_metrics(registry_);
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

void OservMetrics::add_replication_gauges() {
  using Series = std::vector<std::pair<std::string, double>>;
  // At a primary: each standby heard from since it started.
  const auto standbys = [this](auto value) {
    return [this, value] {
      return read([&](LocalDispatcher& l) {
        Series out;
        for (const auto& s : l.replication.standby_figures())
          out.push_back({metrics::label("standby", s.address), value(s)});
        return out;
      });
    };
  };
  registry_.gauge("openoserv_replication_standby_behind_transactions",
                  "Primary TMR server: transactions each standby has not acknowledged yet.",
                  standbys([](const ReplicationSource::StandbyFigures& s) { return double(s.behind); }));
  registry_.gauge("openoserv_replication_standby_in_sync",
                  "Primary TMR server: whether synchronous commits count on each standby (1) or "
                  "it is catching up (0).",
                  standbys([](const ReplicationSource::StandbyFigures& s) { return s.in_sync ? 1.0 : 0.0; }));
  registry_.gauge("openoserv_replication_taken_back_total",
                  "Primary TMR server: groups of transactions sent to standbys and then not "
                  "committed here (a failed commit); standbys undo them.",
                  [this] {
                    return read([&](LocalDispatcher& l) {
                      return l.follower ? Series{} : Series{{"", double(l.replication.taken_back())}};
                    });
                  },
                  "counter");
  // At a standby.
  const auto follower = [this](auto value) {
    return [this, value] {
      return read([&](LocalDispatcher& l) {
        return l.follower ? Series{{"", value(l.follower->behind_and_undone())}} : Series{};
      });
    };
  };
  registry_.gauge("openoserv_replication_behind_transactions",
                  "Standby TMR server: transactions behind its primary, as of its last answer.",
                  follower([](std::pair<std::uint64_t, std::uint64_t> f) { return double(f.first); }));
  registry_.gauge("openoserv_replication_undone_total",
                  "Standby TMR server: transactions it applied and then undid because its primary "
                  "does not have them (each is in DBDIR/undone.txt).",
                  follower([](std::pair<std::uint64_t, std::uint64_t> f) { return double(f.second); }),
                  "counter");
}

}  // namespace openoserv
