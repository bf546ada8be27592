// downcall_bench: the round trip of a downcall, TMR server -> gateway -> endpoint, beside a raw
// TCP request/response over the same hops, in the same run.
//
// The downcall: Dispatcher::invoke(ENDPOINT, "ping") at the TMR server's port (TLS), which the
// Endpoint Manager sends to the endpoint's gateway (CORBA over TLS), which sends it to the
// endpoint over its session (the endpoint protocol over TLS); the endpoint (lcf_sim) answers at
// once. The baseline: three processes of this benchmark (each in a session of its own, as the
// daemons are: BaselineServer.h) at the same three addresses, two relays and an echo, plain TCP
// with TCP_NODELAY, one thread per connection, the client's request (kRequest bytes) relayed
// to the echo and its reply (kReply bytes) relayed back. Rounds alternate (Rounds.h); the
// medians are reported.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "BaselineServer.h"
#include "OrbInit.h"
#include "OrbTls.h"
#include "Rounds.h"
#include "oserv.hh"

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

bool read_n(int fd, char* buf, std::size_t n) {
  for (std::size_t got = 0; got < n;) {
    const ssize_t r = ::read(fd, buf + got, n - got);
    if (r <= 0) return false;
    got += static_cast<std::size_t>(r);
  }
  return true;
}

bool write_n(int fd, const char* buf, std::size_t n) {
  for (std::size_t put = 0; put < n;) {
    const ssize_t w = ::write(fd, buf + put, n - put);
    if (w <= 0) return false;
    put += static_cast<std::size_t>(w);
  }
  return true;
}

// A relay (to `upstream`) or, without one, the echo: one thread per accepted connection.
[[noreturn]] void serve_raw(const Address& at, std::optional<Address> upstream, int ready_fd) {
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
    std::thread([c, upstream] {
      std::array<char, kRequest> request{};
      std::array<char, kReply> reply{};
      const int up = upstream ? connect_to(*upstream) : -1;
      while (read_n(c, request.data(), kRequest)) {
        if (up >= 0 && (!write_n(up, request.data(), kRequest) || !read_n(up, reply.data(), kReply)))
          break;
        if (!write_n(c, reply.data(), kReply)) break;
      }
      ::close(c);
      if (up >= 0) ::close(up);
    }).detach();
  }
}

template <typename Call>
double round_us(Call&& call, int calls) {
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) call();
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count() /
         calls;
}

// Alternating rounds of `raw_call` and `downcall` after a warm-up; prints the medians.
template <typename Raw, typename Downcall>
void measure(Raw&& raw_call, Downcall&& downcall, int calls, int rounds) {
  for (int i = 0; i < calls / 5; ++i) {  // warm up connections and caches
    raw_call();
    downcall();
  }
  std::vector<double> raw_rounds, oserv_rounds, ratios;
  for (int r = 0; r < rounds; ++r) {
    openoserv::bench::take_turns(
        r, [&] { raw_rounds.push_back(round_us(raw_call, calls)); },
        [&] { oserv_rounds.push_back(round_us(downcall, calls)); });
    ratios.push_back(oserv_rounds.back() / raw_rounds.back());
  }
  fmt::print("downcall round trip, TMR server -> gateway -> endpoint, median of {} rounds x {} "
             "calls (lower is better)\n",
             rounds, calls);
  fmt::print("{:<34}{:>12}{:>12}   {}\n", "", "raw TCP us", "oserv us", "ratio");
  fmt::print("{:<34}{:>12.1f}{:>12.1f} {}\n", "invoke(endpoint, ping), 1 client",
             openoserv::bench::median(raw_rounds), openoserv::bench::median(oserv_rounds),
             openoserv::bench::ratio_summary(ratios));
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
  } catch (const std::exception& ex) {
    std::cerr << "downcall_bench: " << ex.what() << "\n";
    std::exit(2);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  using openoserv::bench::start_baseline_server;
  std::vector<pid_t> servers;
  servers.push_back(start_baseline_server("downcall_bench", [&](int fd) { serve_raw(o.echo, std::nullopt, fd); }));
  servers.push_back(start_baseline_server("downcall_bench", [&](int fd) { serve_raw(o.relay_b, o.echo, fd); }));
  servers.push_back(start_baseline_server("downcall_bench", [&](int fd) { serve_raw(o.relay_a, o.relay_b, fd); }));
  const int raw = connect_to(o.relay_a);

  CORBA::ORB_var orb = openoserv::init_orb(argv[0], openoserv::tls_options(o.files));
  CORBA::Object_var obj = orb->string_to_object(openoserv::corbaloc_url(o.tmr, "Dispatcher").c_str());
  OServ::Dispatcher_var dispatcher = OServ::Dispatcher::_narrow(obj);
  const OServ::StringList none;
  auto downcall = [&] {
    OServ::MethodResult_var r = dispatcher->invoke(o.endpoint.c_str(), "ping", none);
    if (r->exit_code != 0) {
      std::cerr << "downcall_bench: ping of " << o.endpoint << " exited " << r->exit_code << ": "
                << r->output.in() << "\n";
      std::_Exit(1);
    }
  };
  std::array<char, kRequest> request{};
  std::array<char, kReply> reply{};
  auto raw_call = [&] {
    if (!write_n(raw, request.data(), kRequest) || !read_n(raw, reply.data(), kReply)) {
      std::cerr << "downcall_bench: the raw relays closed the connection\n";
      std::_Exit(1);
    }
  };
  int status = 0;
  try {
    measure(raw_call, downcall, o.calls, o.rounds);
  } catch (const CORBA::Exception& ex) {
    std::cerr << "downcall_bench: the downcall failed: " << ex._name() << "\n";
    status = 1;
  }
  ::close(raw);
  orb->destroy();
  for (pid_t pid : servers) ::kill(pid, SIGTERM);
  for (pid_t pid : servers) ::waitpid(pid, nullptr, 0);
  return status;
}
