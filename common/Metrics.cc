// Metrics: the registry's text exposition and the HTTP endpoint.
#include <utility>

#include "Metrics.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/core.h>

#include "HostPort.h"

namespace openoserv::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

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

namespace {

std::string braces(const std::string& labels) { return labels.empty() ? "" : "{" + labels + "}"; }

std::string with(const std::string& labels, const std::string& more) {
  return "{" + (labels.empty() ? more : labels + "," + more) + "}";
}

void render_histogram(std::string& out, const std::string& name, const std::string& labels,
                      const Histogram& h) {
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    cumulative += h.buckets[i].load(std::memory_order_relaxed);
    out += fmt::format("{}_bucket{} {}\n", name, with(labels, label("le", fmt::format("{}", kBuckets[i]))),
                       cumulative);
  }
  const auto count = h.count.load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{} {}\n", name, with(labels, label("le", "+Inf")), count);
  out += fmt::format("{}_sum{} {}\n", name, braces(labels),
                     static_cast<double>(h.sum_ns.load(std::memory_order_relaxed)) / 1e9);
  out += fmt::format("{}_count{} {}\n", name, braces(labels), count);
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
    if (f.read)
      for (const auto& [labels, value] : f.read())
        out += fmt::format("{}{} {}\n", name, braces(labels), value);
  }
  return out;
}

struct Server::Impl {
  const Registry& registry;
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io};

  explicit Impl(const Registry& r) : registry(r) {}

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) serve(std::make_shared<beast::tcp_stream>(std::move(s)));
      accept();
    });
  }

  // One request per connection, within 5 s: a scraper that stalls loses its connection.
  void serve(std::shared_ptr<beast::tcp_stream> stream) {
    auto buffer = std::make_shared<beast::flat_buffer>();
    auto request = std::make_shared<http::request<http::string_body>>();
    stream->expires_after(std::chrono::seconds(5));
    http::async_read(*stream, *buffer, *request,
                     [this, stream, buffer, request](const boost::system::error_code& ec,
                                                     std::size_t) {
                       if (ec) return;
                       respond(stream, *request);
                     });
  }

  void respond(const std::shared_ptr<beast::tcp_stream>& stream,
               const http::request<http::string_body>& request) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request.version());
    response->keep_alive(false);
    response->set(http::field::server, "openoserv");
    const bool metrics = request.target() == "/metrics" || request.target().starts_with("/metrics?");
    if (request.method() != http::verb::get && request.method() != http::verb::head) {
      response->result(http::status::method_not_allowed);
      response->body() = "GET /metrics only\n";
    } else if (!metrics) {
      response->result(http::status::not_found);
      response->body() = "metrics are at /metrics\n";
    } else {
      response->result(http::status::ok);
      response->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      response->body() = registry.render();
    }
    if (response->result() != http::status::ok)
      response->set(http::field::content_type, "text/plain; charset=utf-8");
    response->prepare_payload();
    if (request.method() == http::verb::head) response->body().clear();
    http::async_write(*stream, *response,
                      [stream, response](const boost::system::error_code&, std::size_t) {
                        boost::system::error_code ignored;
                        stream->socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
                      });
  }
};

Server::Server(const Registry& registry, const std::string& address)
    : impl_(std::make_unique<Impl>(registry)) {
  HostPort hp;
  try {
    hp = parse_host_port(address, 0);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("metrics at {}: {}", address, e.what()));
  }
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(hp.host, ec);
  if (ec)
    throw std::runtime_error(fmt::format("metrics at {}: '{}' is not an IP address", address, hp.host));
  const asio::ip::tcp::endpoint where(ip, hp.port);
  auto& a = impl_->acceptor;
  a.open(where.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(where, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(fmt::format("metrics: cannot listen on {}: {}", address, ec.message()));
  const auto bound = a.local_endpoint();
  address_ = fmt::format("{}:{}", bound.address().to_string(), bound.port());
  impl_->accept();
  thread_ = std::thread([this] { impl_->io.run(); });
}

Server::~Server() {
  asio::post(impl_->io, [this] { impl_->io.stop(); });
  if (thread_.joinable()) thread_.join();
}

}  // namespace openoserv::metrics
