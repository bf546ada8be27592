// Metrics: the registry's text exposition and the HTTP endpoint.
#include <utility>

#include "Metrics.h"

#include <sys/resource.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

namespace openoserv::metrics {

namespace {

// /proc/self/stat's fields after the command name: utime and stime (fields 14, 15), starttime
// (22, in ticks since boot), vsize (23, bytes) and rss (24, pages).
struct ProcStat {
  double cpu_seconds = 0, start_ticks = 0, virtual_bytes = 0, resident_pages = 0;
};

ProcStat proc_stat() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ProcStat out;
  const auto close = text.rfind(')');
  if (close == std::string::npos) return out;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (int field = 3; fields >> f && field <= 24; ++field) {
    const double v = std::strtod(f.c_str(), nullptr);
    if (field == 14 || field == 15) out.cpu_seconds += v / ticks;
    if (field == 22) out.start_ticks = v;
    if (field == 23) out.virtual_bytes = v;
    if (field == 24) out.resident_pages = v;
  }
  return out;
}

double boot_time() {  // seconds since the epoch, from /proc/stat's btime
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

std::vector<std::pair<std::string, double>> one(double v) { return {{"", v}}; }

}  // namespace

void add_process_metrics(Registry& registry) {
  registry.gauge("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                 [] { return one(proc_stat().cpu_seconds); }, "counter");
  registry.gauge("process_open_fds", "Open file descriptors.", [] {
    std::error_code ec;
    double n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
         it.increment(ec))
      ++n;
    return one(n - 1);  // not the one reading the directory
  });
  registry.gauge("process_max_fds", "The limit of open file descriptors (the soft limit).", [] {
    rlimit files{};
    ::getrlimit(RLIMIT_NOFILE, &files);
    return one(files.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(files.rlim_cur));
  });
  registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [] {
    return one(proc_stat().resident_pages * static_cast<double>(::sysconf(_SC_PAGESIZE)));
  });
  registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                 [] { return one(proc_stat().virtual_bytes); });
  const double started =
      boot_time() + proc_stat().start_ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
  registry.gauge("process_start_time_seconds",
                 "Start time of the process since the Unix epoch, in seconds.",
                 [started] { return one(started); });
}

void Histogram::observe(std::chrono::nanoseconds d) {
  const double seconds = std::chrono::duration<double>(d).count();
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) {
      buckets[i].fetch_add(1, std::memory_order_relaxed);
      break;
    }
  count.fetch_add(1, std::memory_order_relaxed);
  sum_ns.fetch_add(static_cast<std::uint64_t>(d.count()), std::memory_order_relaxed);
}

std::string label(const std::string& name, const std::string& value) {
  std::string out = name + "=\"";
  for (const char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + '"';
}

Registry::Family& Registry::family(const std::string& name, const std::string& help,
                                   const std::string& type) {
  auto [it, made] = families_.try_emplace(name);
  if (made) {
    it->second.help = help;
    it->second.type = type;
  }
  return it->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const std::string& labels) {
  std::lock_guard guard(mu_);
  auto& slot = family(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               const std::string& labels) {
  std::lock_guard guard(mu_);
  auto& slot = family(name, help, "histogram").histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void Registry::gauge(const std::string& name, const std::string& help, Read read,
                     const std::string& type) {
  std::lock_guard guard(mu_);
  family(name, help, type).read = std::move(read);
}

void Registry::histogram_of(const std::string& name, const std::string& help,
                            std::vector<double> bounds, std::function<Counts()> read) {
  std::lock_guard guard(mu_);
  Family& f = family(name, help, "histogram");
  f.bounds = std::move(bounds);
  f.read_histogram = std::move(read);
}

namespace {

std::string braces(const std::string& labels) { return labels.empty() ? "" : "{" + labels + "}"; }

std::string with(const std::string& labels, const std::string& more) {
  return "{" + (labels.empty() ? more : labels + "," + more) + "}";
}

// One histogram's series: `counts` per bucket (not cumulative; the last is +Inf).
template <typename Bounds, typename Counts>
void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                      const Bounds& bounds, const Counts& counts, double sum, std::uint64_t count) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    cumulative += counts[i];
    out += fmt::format("{}_bucket{} {}\n", name, with(labels, label("le", fmt::format("{}", bounds[i]))),
                       cumulative);
  }
  out += fmt::format("{}_bucket{} {}\n", name, with(labels, label("le", "+Inf")), count);
  out += fmt::format("{}_sum{} {}\n", name, braces(labels), sum);
  out += fmt::format("{}_count{} {}\n", name, braces(labels), count);
}

void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                      const Histogram& h) {
  std::array<std::uint64_t, kBuckets.size()> counts{};
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    counts[i] = h.buckets[i].load(std::memory_order_relaxed);
  render_histogram(out, name, labels, kBuckets, counts,
                   static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9,
                   h.count.load(std::memory_order_relaxed));
}

}  // namespace

std::string Registry::render() const {
  std::lock_guard guard(mu_);
  std::string out;
  for (const auto& [name, f] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, f.help, name, f.type);
    for (const auto& [labels, c] : f.counters)
      out += fmt::format("{}{} {}\n", name, braces(labels), c->value.load(std::memory_order_relaxed));
    for (const auto& [labels, h] : f.histograms) render_histogram(out, name, labels, *h);
    if (f.read_histogram) {
      const Counts c = f.read_histogram();
      if (c.buckets.size() == f.bounds.size() + 1)
        render_histogram(out, name, "", f.bounds, c.buckets, c.sum, c.count);
    }
    if (f.read)
      for (const auto& [labels, value] : f.read())
        out += fmt::format("{}{} {}\n", name, braces(labels), value);
  }
  return out;
}

namespace {

web::Response serve(const Registry& registry, const web::Request& request) {
  if (request.method != "GET" && request.method != "HEAD") return web::method_not_allowed("GET, HEAD");
  if (request.target != "/metrics" && !request.target.starts_with("/metrics?"))
    return web::not_found("metrics are at /metrics");
  return web::Response{.content_type = "text/plain; version=0.0.4; charset=utf-8",
                       .body = registry.render()};
}

}  // namespace

Server::Server(const Registry& registry, const std::string& address)
    : server_(address, [&registry](const web::Request& r) { return serve(registry, r); },
              web::Options{.what = "metrics"}) {}

}  // namespace openoserv::metrics
