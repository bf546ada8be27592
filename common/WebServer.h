// A small HTTP server (Boost.Beast) for what the oserv and the gateway show over the web: the
// Prometheus metrics (plain HTTP) and the web console (HTTPS, clients showing a certificate).
//
// One request per connection, answered by a handler the owner gives. Every connection has one
// deadline for its TLS handshake, its request and its reply (a client that stalls loses only its
// own connection), requests are at most 8 KB, connections beyond `max_connections` are closed
// as they arrive, and a failed accept (no descriptor left) is tried again a moment later. Handlers run on the server's own threads, which may block (the console
// calls other dispatchers): `threads` of them serve at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

struct x509_st;

namespace openoserv::web {

struct Request {
  std::string method;  // "GET", "HEAD", "POST", ...
  std::string target;  // "/od/2?lines=50"
  std::string peer;    // "127.0.0.1:41302"
  // HTTPS: the certificate the client showed, verified against the client CA (null: none).
  const x509_st* certificate = nullptr;
};

struct Response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // further header fields
};

using Handler = std::function<Response(const Request&)>;

// HTTPS: PEM files. A client may show a certificate; one not issued by `client_ca` (or expired)
// ends the handshake, none at all reaches the handler with Request::certificate null.
struct Tls {
  std::string certificate;  // the server's certificate (then its chain)
  std::string key;          // its private key
  std::string client_ca;    // the CA that clients' certificates must chain to
};

struct Options {
  std::string what = "http";  // names the server in errors ("metrics", "console")
  std::optional<Tls> tls;
  unsigned threads = 1;
  std::chrono::seconds deadline{5};  // handshake, request and reply of one connection
  unsigned max_connections = 64;
};

// The HEAD, 405 and 404 answers every server gives the same way.
Response not_found(const std::string& what_is_here);
Response method_not_allowed(const std::string& allowed);

class Server {
 public:
  // Listens on `address` ("IP:PORT"; an IP alone: the kernel chooses) and serves from threads
  // of its own until destroyed. Throws std::runtime_error naming the address, or the file of
  // `options.tls` that cannot be loaded.
  Server(const std::string& address, Handler handler, Options options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  // Where it listens ("127.0.0.1:9100"; the port the kernel chose when given none).
  const std::string& address() const { return address_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string address_;
  std::vector<std::thread> threads_;
};

}  // namespace openoserv::web
