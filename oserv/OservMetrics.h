// The oserv's Prometheus metrics (--metrics ADDR:PORT; docs/OPERATIONS.md lists them): every
// request by operation and result with its latency (from the request interceptor), and, read
// at each scrape from the run that serves, method threads, open transactions, locks and their
// waiters, odb.log bytes, the last committed transaction, each dispatcher's link, and (at the
// TMR server) endpoints per gateway.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "Metrics.h"

namespace openoserv {

struct LocalDispatcher;

class OservMetrics {
 public:
  // Listens on `address` ("IP:PORT") for the process's life. Throws std::runtime_error naming
  // the address when it cannot.
  explicit OservMetrics(const std::string& address);
  const std::string& address() const { return server_->address(); }

  // The run whose state the gauges read (null between runs: a promotion restarts the
  // dispatcher in the same process, and its objects go with the run).
  void attach(LocalDispatcher* local);

  // One request ended: `result` is ok, failed (the operation raised Failed or another user
  // exception), refused (NO_PERMISSION) or error (any other system exception).
  enum class Result { kOk, kFailed, kRefused, kError };
  void record(std::string_view operation, Result result, std::chrono::nanoseconds took);

 private:
  struct Operation {
    metrics::Counter* results[4];
    metrics::Histogram* latency;
  };
  Operation make(const std::string& name);
  void add_gauges();
  void add_replication_gauges();
  template <typename F>
  std::vector<std::pair<std::string, double>> read(F&& f);

  metrics::Registry registry_;
  std::unordered_map<std::string_view, Operation> operations_;  // every IDL operation, made once
  Operation other_;  // an operation this oserv does not know
  std::mutex mu_;    // guards local_ (a scrape reads through it while a run ends)
  LocalDispatcher* local_ = nullptr;
  std::unique_ptr<metrics::Server> server_;  // last: serves only once the rest is made
};

// While alive, `metrics` (if any) reads `local`.
class MetricsAttachment {
 public:
  MetricsAttachment(OservMetrics* metrics, LocalDispatcher& local) : metrics_(metrics) {
    if (metrics_) metrics_->attach(&local);
  }
  ~MetricsAttachment() {
    if (metrics_) metrics_->attach(nullptr);
  }
  MetricsAttachment(const MetricsAttachment&) = delete;
  MetricsAttachment& operator=(const MetricsAttachment&) = delete;

 private:
  OservMetrics* metrics_;
};

}  // namespace openoserv
