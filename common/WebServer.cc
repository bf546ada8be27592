// The HTTP(S) server: an accept loop, and per connection one chain of asynchronous steps
// (handshake, read, handler, write, close) under one deadline.
#include <utility>

#include "WebServer.h"

#include <atomic>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <fmt/core.h>
#include <openssl/ssl.h>

#include "AcceptRetry.h"
#include "HostPort.h"

namespace openoserv::web {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

namespace {

constexpr std::size_t kRequestLimit = 8192;

Response text(unsigned status, std::string body) {
  return Response{.status = status, .body = std::move(body)};
}

}  // namespace

Response not_found(const std::string& what_is_here) { return text(404, what_is_here + "\n"); }

Response method_not_allowed(const std::string& allowed) {
  Response r = text(405, fmt::format("only {} here\n", allowed));
  r.headers.emplace_back("Allow", allowed);
  return r;
}

struct Server::Impl {
  Handler handler;
  Options options;
  std::atomic<unsigned> connections{0};
  std::optional<asio::ssl::context> tls;
  // After what sessions use: destroying the context destroys the sessions still pending.
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io};
  AcceptRetry retry{io.get_executor()};  // after a failed accept (no descriptor left, say)

  Impl(Handler h, Options o)
      : handler(std::move(h)), options(std::move(o)), io(static_cast<int>(options.threads)) {}

  void load_tls(const Tls& files);
  void accept();
  template <typename Stream>
  struct Session;
};

// One connection: Stream is beast::tcp_stream (HTTP) or TlsStream (HTTPS).
template <typename Stream>
struct Server::Impl::Session : std::enable_shared_from_this<Session<Stream>> {
  Impl& server;
  Stream stream;
  std::string peer;
  beast::flat_buffer buffer;
  http::request_parser<http::string_body> parser;
  http::response<http::string_body> response;

  template <typename... Args>
  Session(Impl& s, std::string from, Args&&... args)
      : server(s), stream(std::forward<Args>(args)...), peer(std::move(from)) {
    parser.header_limit(kRequestLimit);
    parser.body_limit(kRequestLimit);
  }
  ~Session() { server.connections.fetch_sub(1, std::memory_order_relaxed); }

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream); }

  void start() {
    tcp().expires_after(server.options.deadline);
    if constexpr (std::is_same_v<Stream, TlsStream>)
      stream.async_handshake(asio::ssl::stream_base::server,
                             [self = this->shared_from_this()](const boost::system::error_code& ec) {
                               if (!ec) self->read();
                             });
    else
      read();
  }

  void read() {
    http::async_read(stream, buffer, parser,
                     [self = this->shared_from_this()](const boost::system::error_code& ec,
                                                       std::size_t) {
                       if (!ec) self->respond();
                     });
  }

  void respond() {
    const auto& req = parser.get();
    Request request{.method = std::string(req.method_string()),
                    .target = std::string(req.target()),
                    .peer = peer};
    if constexpr (std::is_same_v<Stream, TlsStream>)
      request.certificate = ::SSL_get0_peer_certificate(stream.native_handle());
    Response answer;
    try {
      answer = server.handler(request);
    } catch (const std::exception& e) {
      answer = text(500, fmt::format("{}: {}\n", server.options.what, e.what()));
    }
    response.version(req.version());
    response.keep_alive(false);
    response.result(answer.status);
    response.set(http::field::server, "openoserv");
    response.set(http::field::content_type, answer.content_type);
    for (const auto& [name, value] : answer.headers) response.set(name, value);
    response.body() = std::move(answer.body);
    response.prepare_payload();
    if (req.method() == http::verb::head) response.body().clear();
    tcp().expires_after(server.options.deadline);  // the handler's own time is not the client's
    http::async_write(stream, response,
                      [self = this->shared_from_this()](const boost::system::error_code&,
                                                        std::size_t) { self->close(); });
  }

  void close() {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      stream.async_shutdown([self = this->shared_from_this()](const boost::system::error_code&) {
        boost::system::error_code ignored;
        self->tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
      });
    } else {
      boost::system::error_code ignored;
      tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    }
  }
};

void Server::Impl::load_tls(const Tls& files) {
  tls.emplace(asio::ssl::context::tls_server);
  auto& ctx = *tls;
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                  asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                  asio::ssl::context::no_tlsv1_1);
  const auto load = [&](const std::string& file, const auto& step) {
    try {
      step();
    } catch (const boost::system::system_error& e) {
      throw std::runtime_error(
          fmt::format("{}: cannot load {}: {}", options.what, file, e.code().message()));
    }
  };
  load(files.certificate, [&] { ctx.use_certificate_chain_file(files.certificate); });
  load(files.key, [&] { ctx.use_private_key_file(files.key, asio::ssl::context::pem); });
  load(files.client_ca, [&] { ctx.load_verify_file(files.client_ca); });
  // Browsers offer the certificates this list's CA issued.
  STACK_OF(X509_NAME)* names = ::SSL_load_client_CA_file(files.client_ca.c_str());
  if (!names)
    throw std::runtime_error(fmt::format("{}: cannot load {}: no certificate in it",
                                         options.what, files.client_ca));
  ::SSL_CTX_set_client_CA_list(ctx.native_handle(), names);
  ctx.set_verify_mode(asio::ssl::verify_peer);
}

void Server::Impl::accept() {
  acceptor.async_accept([this](const boost::system::error_code& ec, asio::ip::tcp::socket s) {
    if (ec == asio::error::operation_aborted) return;
    if (ec) {
      retry.failed([this] { accept(); });
      return;
    }
    retry.succeeded();
    if (connections.fetch_add(1, std::memory_order_relaxed) >= options.max_connections) {
      connections.fetch_sub(1, std::memory_order_relaxed);
      boost::system::error_code ignored;
      s.close(ignored);
    } else {
      boost::system::error_code ignored;
      const auto from = s.remote_endpoint(ignored);
      std::string peer = fmt::format("{}:{}", from.address().to_string(), from.port());
      if (tls)
        std::make_shared<Session<TlsStream>>(*this, std::move(peer), std::move(s), *tls)->start();
      else
        std::make_shared<Session<beast::tcp_stream>>(*this, std::move(peer), std::move(s))->start();
    }
    accept();
  });
}

Server::Server(const std::string& address, Handler handler, Options options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(options))) {
  const std::string& what = impl_->options.what;
  HostPort hp;
  try {
    hp = parse_host_port(address, 0);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(fmt::format("{} at {}: {}", what, address, e.what()));
  }
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(hp.host, ec);
  if (ec)
    throw std::runtime_error(fmt::format("{} at {}: '{}' is not an IP address", what, address, hp.host));
  if (impl_->options.tls) impl_->load_tls(*impl_->options.tls);
  const asio::ip::tcp::endpoint where(ip, hp.port);
  auto& a = impl_->acceptor;
  a.open(where.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(where, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(fmt::format("{}: cannot listen on {}: {}", what, address, ec.message()));
  const auto bound = a.local_endpoint();
  address_ = fmt::format("{}:{}", bound.address().to_string(), bound.port());
  impl_->accept();
  for (unsigned i = 0; i < std::max(1U, impl_->options.threads); ++i)
    threads_.emplace_back([this] { impl_->io.run(); });
}

Server::~Server() {
  impl_->io.stop();
  for (auto& t : threads_) t.join();
}

}  // namespace openoserv::web
