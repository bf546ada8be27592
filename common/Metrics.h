// Prometheus metrics (text exposition format 0.0.4, which OpenMetrics scrapers read too) and
// the HTTP endpoint that serves them (`--metrics ADDR:PORT`, off by default).
//
// prometheus-cpp is not packaged for Debian 12, so the little this needs is here: families of
// counters and histograms whose hot path is one relaxed atomic add (no lock, no allocation
// after a series is first made), gauges read when scraped, and an HTTP server (common/WebServer.h) on a thread of its own (a
// slow or hung scraper holds only its own connection, for at most 5 s).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "WebServer.h"

namespace openoserv::metrics {

// Latency buckets (seconds) of every histogram: 100 µs to 10 s.
inline constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                    0.01,   0.025,   0.1,    0.5,   2.5,   10};

struct Counter {
  std::atomic<std::uint64_t> value{0};
  void add(std::uint64_t n = 1) { value.fetch_add(n, std::memory_order_relaxed); }
};

struct Histogram {
  std::array<std::atomic<std::uint64_t>, kBuckets.size()> buckets{};  // not cumulative
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum_ns{0};
  void observe(std::chrono::nanoseconds d);
};

// Labels as Prometheus writes them: {operation="ping",result="ok"} ("" for none). Values are
// escaped by label().
std::string label(const std::string& name, const std::string& value);

class Registry {
 public:
  // The series `name{labels}` of a family (made on first use: keep the reference, it lives as
  // long as the registry). `help` describes the family, the first time it is named.
  Counter& counter(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::string& labels = "");
  // A gauge (or, with `type` "counter", a counter kept elsewhere) read at each scrape: `read`
  // returns its series as {labels, value}.
  using Read = std::function<std::vector<std::pair<std::string, double>>()>;
  void gauge(const std::string& name, const std::string& help, Read read,
             const std::string& type = "gauge");

  // A histogram counted elsewhere, read at each scrape: its buckets' upper bounds, and `read`
  // returning the count in each bucket (not cumulative; one more than `bounds`: +Inf), the sum
  // and the count.
  struct Counts {
    std::vector<std::uint64_t> buckets;
    double sum = 0;
    std::uint64_t count = 0;
  };
  void histogram_of(const std::string& name, const std::string& help, std::vector<double> bounds,
                    std::function<Counts()> read);

  // Every family in the text exposition format.
  std::string render() const;

 private:
  struct Family {
    std::string help, type;
    std::map<std::string, std::unique_ptr<Counter>> counters;
    std::map<std::string, std::unique_ptr<Histogram>> histograms;
    Read read;
    std::vector<double> bounds;  // histogram_of
    std::function<Counts()> read_histogram;
  };
  Family& family(const std::string& name, const std::string& help, const std::string& type);

  mutable std::mutex mu_;  // guards families_ (not the series' values: atomics)
  std::map<std::string, Family> families_;
};

// Serves GET /metrics (the registry rendered) on `address` ("IP:PORT"; an IP alone: the kernel
// chooses) until destroyed. Throws std::runtime_error naming the address when it is not one or
// cannot be listened on.
// The process's own series, under the names Prometheus's client libraries give them:
// process_cpu_seconds_total, process_open_fds, process_max_fds, process_resident_memory_bytes,
// process_virtual_memory_bytes and process_start_time_seconds (from /proc/self, read at the
// scrape).
void add_process_metrics(Registry& registry);

class Server {
 public:
  Server(const Registry& registry, const std::string& address);
  // Where it listens ("127.0.0.1:9100"; the port the kernel chose when given none).
  const std::string& address() const { return server_.address(); }

 private:
  web::Server server_;
};

}  // namespace openoserv::metrics
