// The metrics registry's text exposition and its HTTP endpoint (common/Metrics.h).
#include <utility>

#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <string>

#include "Metrics.h"

namespace openoserv::metrics {
namespace {

TEST(Metrics, CountersHistogramsAndGaugesRenderAsPrometheusText) {
  Registry r;
  r.counter("calls_total", "Calls.", label("operation", "ping") + "," + label("result", "ok")).add(3);
  auto& h = r.histogram("took_seconds", "Latency.", label("operation", "ping"));
  h.observe(std::chrono::microseconds(50));
  h.observe(std::chrono::milliseconds(3));
  h.observe(std::chrono::seconds(20));
  r.gauge("up", "Links.", [] {
    return std::vector<std::pair<std::string, double>>{{label("od", "2"), 1}, {label("od", "3"), 0}};
  });
  const std::string text = r.render();
  EXPECT_NE(text.find("# HELP calls_total Calls.\n# TYPE calls_total counter\n"
                      "calls_total{operation=\"ping\",result=\"ok\"} 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE took_seconds histogram\n"), std::string::npos);
  // Buckets are cumulative; 20 s falls in +Inf only.
  EXPECT_NE(text.find("took_seconds_bucket{operation=\"ping\",le=\"0.0001\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("took_seconds_bucket{operation=\"ping\",le=\"0.005\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("took_seconds_bucket{operation=\"ping\",le=\"10\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("took_seconds_bucket{operation=\"ping\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("took_seconds_count{operation=\"ping\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("took_seconds_sum{operation=\"ping\"} 20.00305\n"), std::string::npos) << text;
  EXPECT_NE(text.find("up{od=\"2\"} 1\nup{od=\"3\"} 0\n"), std::string::npos);
}

TEST(Metrics, AHistogramCountedElsewhereRendersCumulatively) {
  Registry r;
  r.histogram_of("group_size", "Sizes.", {1, 2, 4}, [] {
    return Registry::Counts{.buckets = {5, 3, 0, 2}, .sum = 31, .count = 10};
  });
  r.histogram_of("absent", "Between runs.", {1}, [] { return Registry::Counts{}; });
  const std::string text = r.render();
  EXPECT_NE(text.find("# TYPE group_size histogram\n"
                      "group_size_bucket{le=\"1\"} 5\ngroup_size_bucket{le=\"2\"} 8\n"
                      "group_size_bucket{le=\"4\"} 8\ngroup_size_bucket{le=\"+Inf\"} 10\n"
                      "group_size_sum 31\ngroup_size_count 10\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("absent_bucket"), std::string::npos) << "no buckets: no series";
}

TEST(Metrics, LabelValuesAreEscaped) {
  EXPECT_EQ(label("path", "a\"b\\c\nd"), "path=\"a\\\"b\\\\c\\nd\"");
}

TEST(Metrics, TheSameSeriesIsOneCounter) {
  Registry r;
  r.counter("n_total", "N.", label("k", "a")).add();
  r.counter("n_total", "N.", label("k", "a")).add();
  EXPECT_EQ(r.counter("n_total", "N.", label("k", "a")).value.load(), 2u);
}

// GET PATH from the server, the whole answer (status line, headers, body).
std::string get(const std::string& address, const std::string& path) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  const auto colon = address.rfind(':');
  s.connect({asio::ip::make_address(address.substr(0, colon)),
             static_cast<unsigned short>(std::stoi(address.substr(colon + 1)))});
  const std::string request = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  asio::write(s, asio::buffer(request));
  std::string out;
  boost::system::error_code ec;
  char buf[4096];
  while (std::size_t n = s.read_some(asio::buffer(buf), ec)) out.append(buf, n);
  return out;
}

TEST(Metrics, TheServerAnswersMetricsAndNothingElse) {
  Registry r;
  r.counter("hits_total", "Hits.").add(7);
  Server server(r, "127.0.0.1");  // a port the kernel chooses
  const std::string metrics = get(server.address(), "/metrics");
  EXPECT_EQ(metrics.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << metrics;
  EXPECT_NE(metrics.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(metrics.find("\r\n\r\n# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 7\n"),
            std::string::npos);
  EXPECT_EQ(get(server.address(), "/").rfind("HTTP/1.1 404", 0), 0u);
}

TEST(Metrics, AnAddressInUseIsNamed) {
  Registry r;
  Server first(r, "127.0.0.1");
  try {
    Server second(r, first.address());
    FAIL() << "a second server on " << first.address();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen on " + first.address()), std::string::npos)
        << e.what();
  }
}

TEST(Metrics, AnAddressThatIsNotIpAndPortIsNamed) {
  Registry r;
  for (const std::string bad : {"localhost:9100", "127.0.0.1:x", "127.0.0.1:70000"}) {
    try {
      Server server(r, bad);
      ADD_FAILURE() << "served at " << bad;
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("metrics at " + bad), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace openoserv::metrics
