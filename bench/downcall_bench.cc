// downcall_bench: the round trip of a downcall, TMR server -> gateway -> endpoint, beside three
// request/response baselines over the same three hops, all in the same run.
//
// The downcall: Dispatcher::invoke(ENDPOINT, "ping") at the TMR server's port (TLS), which the
// Endpoint Manager sends to the endpoint's gateway (CORBA over TLS), which sends it to the
// endpoint over its session (the endpoint protocol over TLS); the endpoint (lcf_sim) answers at
// once. The baselines are processes of this benchmark (each in a session of its own, as the
// daemons are: BaselineServer.h) at the same three addresses, two relays and an echo, the
// client's request (kRequest bytes) relayed to the echo and its reply (kReply bytes) relayed back:
//   raw TCP   plain TCP with TCP_NODELAY, one blocking thread per connection (issue 15's
//             baseline);
//   raw TLS   the same with TLS on every hop (OpenSSL, the region's certificates);
//   floor     what this design cannot go below: omniORB over TLS for the first two hops, the
//             first with a deadline on its forwarded call as the Endpoint Manager's has, and the
//             third hop raw TLS sent and read on the second relay's ORB thread itself (the least
//             a gateway on omniORB's synchronous servants could do).
// Every path takes a turn in each round, the order rotating (Rounds.h); medians are reported.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstring>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>
#include <openssl/ssl.h>

#include "BaselineServer.h"
#include "OrbInit.h"
#include "OrbTls.h"
#include "Rounds.h"
#include "oserv.hh"
#include "raw.hh"

namespace po = boost::program_options;

namespace {

// About the sizes of the GIOP request and reply of an invoke of ping.
constexpr std::size_t kRequest = 200, kReply = 100;

struct Address {
  std::string host;
  std::uint16_t port = 0;
};

Address parse_address(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) throw po::error(fmt::format("'{}' is not HOST:PORT", text));
  return {text.substr(0, colon), static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1)))};
}

sockaddr_in socket_address(const Address& a) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(a.port);
  if (::inet_pton(AF_INET, a.host.c_str(), &sa.sin_addr) != 1) {
    std::cerr << fmt::format("downcall_bench: {} is not an IPv4 address\n", a.host);
    std::_Exit(2);
  }
  return sa;
}

void no_delay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int connect_to(const Address& a) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const auto sa = socket_address(a);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    std::perror(fmt::format("downcall_bench: connect {}:{}", a.host, a.port).c_str());
    std::_Exit(1);
  }
  no_delay(fd);
  return fd;
}

// One connection of the raw baselines: plain TCP, or TLS on it (OpenSSL, blocking I/O).
class Conn {
 public:
  Conn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  ~Conn() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
  }
  bool read_n(char* buf, std::size_t n) {
    for (std::size_t got = 0; got < n;) {
      const auto r = ssl_ ? SSL_read(ssl_, buf + got, static_cast<int>(n - got))
                          : ::read(fd_, buf + got, n - got);
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  }
  bool write_n(const char* buf, std::size_t n) {
    for (std::size_t put = 0; put < n;) {
      const auto w = ssl_ ? SSL_write(ssl_, buf + put, static_cast<int>(n - put))
                          : ::write(fd_, buf + put, n - put);
      if (w <= 0) return false;
      put += static_cast<std::size_t>(w);
    }
    return true;
  }

 private:
  int fd_;
  SSL* ssl_;
};

// TLS with the region's certificate on both ends and its CA checked, as between the daemons;
// null for plain TCP (`files` empty).
SSL_CTX* tls_context(const openoserv::TlsFiles& files, bool server) {
  if (files.ca.empty()) return nullptr;
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (!ctx || SSL_CTX_use_certificate_chain_file(ctx, files.identity.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(ctx, files.identity.c_str(), SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_load_verify_locations(ctx, files.ca.c_str(), nullptr) != 1) {
    std::cerr << fmt::format("downcall_bench: no TLS context from {} and {}\n", files.identity,
                             files.ca);
    std::_Exit(1);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  return ctx;
}

// `fd` as a connection: plain without `ctx`, else after its TLS handshake; null if that fails.
std::unique_ptr<Conn> open_conn(int fd, SSL_CTX* ctx, bool server) {
  if (!ctx) return std::make_unique<Conn>(fd, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  auto conn = std::make_unique<Conn>(fd, ssl);
  if ((server ? SSL_accept(ssl) : SSL_connect(ssl)) != 1) return nullptr;
  return conn;
}

std::unique_ptr<Conn> connect_conn(const Address& a, SSL_CTX* ctx) {
  auto conn = open_conn(connect_to(a), ctx, false);
  if (!conn) {
    std::cerr << fmt::format("downcall_bench: no TLS session with {}:{}\n", a.host, a.port);
    std::_Exit(1);
  }
  return conn;
}

// A relay (to `upstream`) or, without one, the echo: one thread per accepted connection; TLS
// on both sides with `files`.
[[noreturn]] void serve_raw(const Address& at, std::optional<Address> upstream,
                            const openoserv::TlsFiles& files, int ready_fd) {
  SSL_CTX* server = tls_context(files, true);
  SSL_CTX* client = tls_context(files, false);
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const auto sa = socket_address(at);
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 ||
      ::listen(listener, 16) != 0) {
    std::perror(fmt::format("downcall_bench: listen {}:{}", at.host, at.port).c_str());
    std::_Exit(1);
  }
  char byte = 1;
  if (::write(ready_fd, &byte, 1) != 1) std::_Exit(1);
  ::close(ready_fd);
  for (;;) {
    const int c = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    no_delay(c);
    std::thread([=] {
      auto down = open_conn(c, server, true);
      if (!down) return;
      auto up = upstream ? connect_conn(*upstream, client) : nullptr;
      std::array<char, kRequest> request{};
      std::array<char, kReply> reply{};
      while (down->read_n(request.data(), kRequest)) {
        if (up && (!up->write_n(request.data(), kRequest) || !up->read_n(reply.data(), kReply)))
          break;
        if (!down->write_n(reply.data(), kReply)) break;
      }
    }).detach();
  }
}

// The floor's first relay: forwards over omniORB, with a deadline on the forwarded call.
class RelayForwarder : public POA_RawBench::Relay {
 public:
  explicit RelayForwarder(RawBench::Relay_ptr next) : next_(RawBench::Relay::_duplicate(next)) {}
  char* call(const char* request) override { return next_->call(request); }

 private:
  RawBench::Relay_var next_;
};

// The floor's second relay, at the gateway's host: the request goes to the echo (the endpoint)
// and its reply is read on the calling ORB thread, over one TLS session.
class SessionRelay : public POA_RawBench::Relay {
 public:
  explicit SessionRelay(std::unique_ptr<Conn> session) : session_(std::move(session)) {}
  char* call(const char* request) override {
    std::array<char, kReply> reply{};
    std::lock_guard lock(mutex_);
    if (std::strlen(request) != kRequest || !session_->write_n(request, kRequest) ||
        !session_->read_n(reply.data(), kReply))
      throw CORBA::COMM_FAILURE();
    return CORBA::string_dup(reply_.c_str());
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<Conn> session_;
  const std::string reply_ = std::string(kReply, 'r');
};

// A floor relay on `at` (omniORB over TLS): to `next` (omniORB) if set, else to `echo` (raw TLS).
[[noreturn]] void serve_floor(const Address& at, std::optional<Address> next, const Address& echo,
                              const openoserv::TlsFiles& files, int ready_fd) {
  openoserv::OrbOptions options = openoserv::tls_options(files);
  options.emplace_back("endPoint", fmt::format("giop:ssl:{}:{}", at.host, at.port));
  openoserv::bench::serve_object(
      "downcall_floor", options, "Relay", ready_fd,
      [&](CORBA::ORB_ptr orb) -> PortableServer::ServantBase* {
        if (!next) return new SessionRelay(connect_conn(echo, tls_context(files, false)));
        const auto url = openoserv::corbaloc_url(fmt::format("{}:{}", next->host, next->port), "Relay");
        CORBA::Object_var obj = orb->string_to_object(url.c_str());
        RawBench::Relay_var relay = RawBench::Relay::_narrow(obj);
        omniORB::setClientCallTimeout(relay, 60000);
        return new RelayForwarder(relay);
      });
}

template <typename Call>
double round_us(Call&& call, int calls) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) call();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
         calls;
}

struct Path {
  const char* name;
  std::function<void()> call;
  std::vector<double> rounds;  // µs per call, one figure a round
};

// Rounds in which every path takes a turn, the order rotating, after a warm-up; then one line
// per baseline (all paths but the last, the downcall): its median, the downcall's, their ratio.
void measure(std::vector<Path>& paths, int calls, int rounds) {
  for (auto& p : paths)  // warm up connections and caches
    for (int i = 0; i < calls / 5; ++i) p.call();
  for (int r = 0; r < rounds; ++r)
    for (std::size_t i = 0; i < paths.size(); ++i) {
      auto& p = paths[(i + r) % paths.size()];
      p.rounds.push_back(round_us(p.call, calls));
    }
  auto ratios = [&](const Path& a, const Path& b) {
    std::vector<double> out;
    for (int r = 0; r < rounds; ++r) out.push_back(a.rounds[r] / b.rounds[r]);
    return out;
  };
  using openoserv::bench::median;
  const Path& downcall = paths.back();
  fmt::print("downcall round trip, TMR server -> gateway -> endpoint, 1 client, median of {} "
             "rounds x {} calls (lower is better)\n",
             rounds, calls);
  fmt::print("{:<44}{:>12}{:>12}   {}\n", "baseline over the same three hops", "baseline us",
             "oserv us", "ratio");
  for (std::size_t i = 0; i + 1 < paths.size(); ++i)
    fmt::print("{:<44}{:>12.1f}{:>12.1f} {}\n", paths[i].name, median(paths[i].rounds),
               median(downcall.rounds),
               openoserv::bench::ratio_summary(ratios(downcall, paths[i])));
  fmt::print("{:<56}{:>12} {}\n", "the floor itself against raw TCP", "",
             openoserv::bench::ratio_summary(ratios(paths[2], paths[0])));
}

struct Options {
  std::string tmr, endpoint;
  openoserv::TlsFiles files;
  Address relay_a, relay_b, echo;
  int calls = 500, rounds = 11;
};

// The command line; exits 0 after --help, 2 on a mistake.
Options parse(int argc, char** argv) {
  Options o;
  std::string relay_a, relay_b, echo;
  po::options_description opts(
      "Usage: downcall_bench --tmr HOST:PORT --endpoint OID --ca FILE --identity FILE\n"
      "                      --raw-tmr HOST:PORT --raw-gateway HOST:PORT --raw-endpoint HOST:PORT\n"
      "(scripts/bench.sh downcall sets everything up)\n"
      "The baselines listen at the three --raw addresses: raw TCP on each PORT, raw TLS on\n"
      "PORT+1, the floor on PORT+2.\n"
      "Options");
  opts.add_options()("help,h", "print this help")
      ("tmr", po::value(&o.tmr)->required(), "the TMR server's HOST:PORT")
      ("endpoint", po::value(&o.endpoint)->required(), "the endpoint's OID (logged in)")
      ("ca", po::value(&o.files.ca)->required(), "the region CA (DBDIR/ssl/ca.pem)")
      ("identity", po::value(&o.files.identity)->required(),
       "a certificate of the region (the TMR server's DBDIR/ssl/identity.pem)")
      ("raw-tmr", po::value(&relay_a)->required(), "the first raw relay (the TMR server's host)")
      ("raw-gateway", po::value(&relay_b)->required(), "the second (the gateway's host)")
      ("raw-endpoint", po::value(&echo)->required(), "the raw echo (the endpoint's host)")
      ("calls", po::value(&o.calls)->default_value(500), "calls per round")
      ("rounds", po::value(&o.rounds)->default_value(11), "rounds per target");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts;
      std::exit(0);
    }
    po::notify(vm);
    o.relay_a = parse_address(relay_a);
    o.relay_b = parse_address(relay_b);
    o.echo = parse_address(echo);
    if (o.calls < 1 || o.rounds < 1) throw po::error("--calls and --rounds must be at least 1");
  } catch (const std::exception& ex) {
    std::cerr << "downcall_bench: " << ex.what() << "\n";
    std::exit(2);
  }
  return o;
}

Address plus(const Address& a, int n) { return {a.host, static_cast<std::uint16_t>(a.port + n)}; }

// A baseline's client: kRequest bytes out, kReply back, over `conn`.
std::function<void()> raw_client(std::shared_ptr<Conn> conn) {
  return [conn, request = std::array<char, kRequest>{}, reply = std::array<char, kReply>{}]() mutable {
    if (!conn->write_n(request.data(), kRequest) || !conn->read_n(reply.data(), kReply)) {
      std::cerr << "downcall_bench: a raw relay closed the connection\n";
      std::_Exit(1);
    }
  };
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const openoserv::TlsFiles plain;
  std::vector<pid_t> servers;
  auto start = [&](auto serve) {
    servers.push_back(openoserv::bench::start_baseline_server("downcall_bench", serve));
  };
  for (int tls = 0; tls <= 1; ++tls) {  // raw TCP on each PORT, raw TLS on PORT+1
    const auto& files = tls ? o.files : plain;
    const Address echo = plus(o.echo, tls), b = plus(o.relay_b, tls), a = plus(o.relay_a, tls);
    start([&](int fd) { serve_raw(echo, std::nullopt, files, fd); });
    start([&](int fd) { serve_raw(b, echo, files, fd); });
    start([&](int fd) { serve_raw(a, b, files, fd); });
  }
  start([&](int fd) { serve_floor(plus(o.relay_b, 2), std::nullopt, plus(o.echo, 1), o.files, fd); });
  start([&](int fd) { serve_floor(plus(o.relay_a, 2), plus(o.relay_b, 2), o.echo, o.files, fd); });

  CORBA::ORB_var orb = openoserv::init_orb(argv[0], openoserv::tls_options(o.files));
  auto object = [&](const Address& at, const char* key) {
    return orb->string_to_object(
        openoserv::corbaloc_url(fmt::format("{}:{}", at.host, at.port), key).c_str());
  };
  CORBA::Object_var obj = object(plus(o.relay_a, 2), "Relay");
  RawBench::Relay_var floor = RawBench::Relay::_narrow(obj);
  obj = orb->string_to_object(openoserv::corbaloc_url(o.tmr, "Dispatcher").c_str());
  OServ::Dispatcher_var dispatcher = OServ::Dispatcher::_narrow(obj);
  const OServ::StringList none;
  const std::string request(kRequest, 'q');
  std::vector<Path> paths = {
      {"raw TCP (issue 15's baseline)", raw_client(connect_conn(o.relay_a, nullptr)), {}},
      {"raw TLS on every hop",
       raw_client(connect_conn(plus(o.relay_a, 1), tls_context(o.files, false))), {}},
      {"floor: omniORB over TLS, then raw TLS",
       [&] { CORBA::String_var r = floor->call(request.c_str()); }, {}},
      {"downcall", [&] {
         OServ::MethodResult_var r = dispatcher->invoke(o.endpoint.c_str(), "ping", none);
         if (r->exit_code != 0) {
           std::cerr << "downcall_bench: ping of " << o.endpoint << " exited " << r->exit_code
                     << ": " << r->output.in() << "\n";
           std::_Exit(1);
         }
       }, {}}};
  int status = 0;
  try {
    measure(paths, o.calls, o.rounds);
  } catch (const CORBA::Exception& ex) {
    std::cerr << "downcall_bench: a call failed: " << ex._name() << "\n";
    status = 1;
  }
  paths.clear();
  orb->destroy();
  for (pid_t pid : servers) ::kill(pid, SIGTERM);
  for (pid_t pid : servers) ::waitpid(pid, nullptr, 0);
  return status;
}
