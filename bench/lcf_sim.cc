// lcf_sim: many endpoints from one process, speaking the real endpoint protocol
// (docs/LCF-PROTOCOL.md) to real gateways, for scale tests and as an operator's load tool.
//
// Each simulated endpoint has its own TCP (TLS) session, identity, login state and method cache.
// Identities are kept in DIR/identities ("label oid key gateway", one line each, rewritten after
// logins), so a second run logs the same endpoints in again (normal logins). A lost session is
// logged in again after a random jitter, to its gateway, then the alternates (isolated), as lcfd
// does; the time from the loss to the next accepted login is measured per endpoint.
//
// One event loop (Boost.Asio); downcalls are answered at once (built-in ping and status, and
// any method program: "ok", exit code 0, its body fetched once per endpoint as lcfd would).
// With --upcalls N, the first N endpoints each spool an upcall when their session is lost, and
// send their spool, one at a time and again until acknowledged, as lcfd does.
#include <csignal>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <utility>

#include <boost/asio.hpp>
#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "LcfDat.h"
#include "Link.h"
#include "SessionTls.h"
#include "TextFile.h"

namespace asio = boost::asio;
namespace po = boost::program_options;
using namespace openoserv;
using namespace openoserv::lcf;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kUsage =
    "usage: lcf_sim --gateway HOST+PORT[:HOST+PORT...] --count N --dir DIR [options]\n"
    "\n"
    "Simulates N endpoints in one process, each with its own session to a gateway, identity,\n"
    "login state and method cache, speaking the real endpoint protocol (TLS unless --plain).\n"
    "Identities are kept in DIR/identities: a second run logs the same endpoints in again.\n"
    "Every --report seconds it prints one line: sessions up, logins by kind, refusals,\n"
    "downcalls answered, method bodies fetched (and their bytes), TLS sessions resumed (a\n"
    "gateway's ticket offered again), re-logins after a lost session (count, p50, p99 and max\n"
    "seconds from the loss to the next accepted login), upcalls spooled and acknowledged, and\n"
    "how long it took until every endpoint was first logged in. It runs for --duration\n"
    "seconds (0: until SIGINT or SIGTERM), then prints a last line and exits 0, or 1 when\n"
    "fewer than --expect endpoints were logged in at the end.\n"
    "\n"
    "With --upcalls N, the first N endpoints each spool an upcall of --upcall-method (its\n"
    "argument: the upcall's id) whenever their session is lost, and send it once logged in\n"
    "again, one at a time and again every 10 s until the gateway acknowledges it (lcfd's\n"
    "rule); the Endpoint Manager runs each id once.\n";

struct Options {
  std::vector<GatewayAddress> gateways;
  std::size_t count = 100;
  std::string dir;
  std::string prefix = "sim";
  bool plain = false;
  double rate = 0;           // logins started per second (0: all at once)
  double jitter = 5;         // seconds: the bound of the random wait before a re-login
  int duration = 0;
  int report = 5;
  std::size_t expect = 0;
  std::string local_ips;     // "127.0.1.1-127.0.1.50": spread the sessions' source addresses
  std::size_t upcalls = 0;   // endpoints that spool an upcall at each lost session
  std::string upcall_method = "report";
};

struct Stats {
  std::size_t up = 0;
  std::map<std::string, std::size_t> logins;  // by kind
  std::size_t refused = 0, downcalls = 0, fetched = 0, fetched_bytes = 0, lost = 0, resumed = 0;
  std::size_t spooled = 0, acknowledged = 0;
  std::vector<double> relogin_seconds;
};

class Simulator;

struct Endpoint {
  std::size_t index = 0;
  std::string label, oid, key;
  GatewayAddress gateway;                 // assigned (from the last LoginReply)
  std::vector<GatewayAddress> alternates;
  std::shared_ptr<Link> link;             // the live session, when logged in
  std::set<std::string> cache;            // method digests it holds
  std::optional<Clock::time_point> lost;  // when its last session ended
  bool redirected = false;                // told where to go: no jitter before it
  Link::LastTicket ticket;                // the last TLS session ticket and its gateway
  std::deque<std::uint64_t> spool;        // upcall ids not yet acknowledged, oldest first
  std::optional<Clock::time_point> upcall_sent;  // when the spool's first went out
};

// An unacknowledged upcall goes out again after this (lcfd's interval).
constexpr auto kUpcallResend = std::chrono::seconds(10);

class Simulator {
 public:
  Simulator(asio::io_context& io, Options o)
      : io_(io), o_(std::move(o)), tls_(endpoint_tls_context()), report_timer_(io) {}

  void start() {
    load_identities();
    for (std::size_t i = 0; i < o_.count; ++i) {
      auto delay = o_.rate > 0 ? std::chrono::duration<double>(static_cast<double>(i) / o_.rate)
                               : std::chrono::duration<double>(0);
      after(std::chrono::duration_cast<std::chrono::milliseconds>(delay), [this, i] { login(i, 0); });
    }
    tick();
  }

  void finish() {
    print_line("final");
    save_identities();
  }
  std::size_t up() const { return stats_.up; }

 private:
  template <typename F>
  void after(std::chrono::milliseconds delay, F f) {
    auto t = std::make_shared<asio::steady_timer>(io_, delay);
    t->async_wait([t, f = std::move(f)](const boost::system::error_code& ec) {
      if (!ec) f();
    });
  }

  std::vector<GatewayAddress> candidates(const Endpoint& e) const {
    std::vector<GatewayAddress> out;
    auto add = [&](const GatewayAddress& g) {
      if (!g.host.empty() && std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    };
    add(e.gateway);
    for (const auto& g : e.alternates) add(g);
    for (const auto& g : o_.gateways) add(g);
    return out;
  }

  // Endpoint i tries candidate `n` (its gateway first); after the last, a new round later.
  void login(std::size_t i, std::size_t n) {
    Endpoint& e = endpoints_[i];
    const auto list = candidates(e);
    if (n >= list.size()) {
      after(std::chrono::milliseconds(1000 + random_ms(1000)), [this, i] { login(i, 0); });
      return;
    }
    const GatewayAddress g = list[n];
    const std::string kind = e.oid.empty() ? "initial" : (n == 0 && g == e.gateway ? "normal" : "isolated");
    auto socket = std::make_shared<asio::ip::tcp::socket>(io_);
    boost::system::error_code ec;
    if (!local_ips_.empty()) {
      socket->open(asio::ip::tcp::v4(), ec);
      if (!ec) socket->bind({local_ips_[i % local_ips_.size()], 0}, ec);
    }
    asio::ip::tcp::endpoint to(asio::ip::make_address(g.host, ec), g.port);
    if (ec) return login(i, n + 1);
    // A gateway that does not answer at all (a partition) costs 5 s, not TCP's minutes.
    auto deadline = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(5));
    deadline->async_wait([socket](const boost::system::error_code& ec) {
      boost::system::error_code ignored;
      if (!ec) socket->close(ignored);
    });
    socket->async_connect(to, [this, i, n, g, kind, socket, deadline](const boost::system::error_code& ec) {
      deadline->cancel();
      if (ec) return login(i, n + 1);
      auto link = std::make_shared<Link>(std::move(*socket));
      if (o_.plain) return send_login(i, n, g, kind, link);
      Endpoint& e = endpoints_[i];
      link->tls_client(
          *tls_, std::chrono::seconds(10),
          [this, i, n, g, kind, link](const std::string& err) {
            if (!err.empty()) return login(i, n + 1);
            if (link->resumed()) ++stats_.resumed;
            send_login(i, n, g, kind, link);
          },
          e.ticket.for_gateway(g.text()), e.ticket.keeper(g.text()));
    });
  }

  void send_login(std::size_t i, std::size_t n, const GatewayAddress& g, const std::string& kind,
                  const std::shared_ptr<Link>& link) {
    Endpoint& e = endpoints_[i];
    Lcf::Login l;
    l.protocol = kVersion;
    l.kind = kind.c_str();
    l.label = e.label.c_str();
    l.oid = kind == "initial" ? "" : e.oid.c_str();
    l.key = kind == "initial" ? "" : e.key.c_str();
    l.interp = "linux-x86_64";
    l.address = "";
    l.port = 0;
    auto answered = std::make_shared<bool>(false);
    // The handlers hold the session weakly: it lives while its endpoint (or an operation in
    // flight) holds it, and never holds itself.
    std::weak_ptr<Link> weak = link;
    link->start(
        [this, i, n, g, kind, weak, answered](Frame&& f) {
          auto link = weak.lock();
          if (!link) return;
          if (!*answered) {
            *answered = true;
            return on_login_reply(i, n, g, kind, link, f);
          }
          on_frame(i, link, std::move(f));
        },
        [this, i, n, weak, answered](const std::string&) {
          if (!*answered) return login(i, n + 1);
          if (auto link = weak.lock()) session_lost(i, link);
        });
    link->send(Type::kLogin, 0, l);
  }

  void on_login_reply(std::size_t i, std::size_t n, const GatewayAddress& g,
                      const std::string& kind, const std::shared_ptr<Link>& link, const Frame& f) {
    Endpoint& e = endpoints_[i];
    Lcf::LoginReply r;
    try {
      if (f.type != Type::kLoginReply) throw ProtocolError("not a LoginReply");
      r = decode<Lcf::LoginReply>(f);
    } catch (const ProtocolError&) {
      link->close("bad reply");
      return;
    }
    if (!r.accepted) {
      ++stats_.refused;
      link->close("refused");
      if (r.orphan) e.oid.clear();
      after(std::chrono::milliseconds(random_ms(1000)), [this, i, n] { login(i, n + 1); });
      return;
    }
    e.oid = r.oid.in();
    if (std::string key = r.key.in(); !key.empty()) e.key = key;
    try {
      auto assigned = parse_gateways(r.gateway.in(), g.port);
      e.gateway = assigned.empty() ? g : assigned.front();
      e.alternates.clear();
      for (CORBA::ULong a = 0; a < r.alternates.length(); ++a)
        for (auto& alt : parse_gateways(r.alternates[a].in(), g.port)) e.alternates.push_back(alt);
    } catch (const std::invalid_argument&) {
    }
    e.link = link;
    link->set_heartbeat(std::chrono::seconds(std::max<CORBA::ULong>(r.heartbeat, 1)));
    ++stats_.up;
    ++stats_.logins[kind];
    if (stats_.up == o_.count && !all_up_)
      all_up_ = std::chrono::duration<double>(Clock::now() - started_).count();
    dirty_ = true;
    e.upcall_sent.reset();
    send_upcall(e);
    if (e.lost) {
      stats_.relogin_seconds.push_back(
          std::chrono::duration<double>(Clock::now() - *e.lost).count());
      e.lost.reset();
    }
  }

  void on_frame(std::size_t i, const std::shared_ptr<Link>& link, Frame&& f) {
    Endpoint& e = endpoints_[i];
    if (f.type == Type::kRedirect) {
      auto r = decode<Lcf::Redirect>(f);
      try {
        if (r.gateways.length() > 0) e.gateway = parse_gateways(r.gateways[0].in(), 0).at(0);
        e.redirected = true;
      } catch (const std::exception&) {
      }
      link->close("redirected");
      return;
    }
    if (f.type == Type::kDowncall) {
      auto d = decode<Lcf::Downcall>(f);
      const std::string digest = d.digest.in();
      if (!digest.empty() && !e.cache.count(digest)) {
        Lcf::MethodRequest m;
        m.digest = digest.c_str();
        const auto id = link->next_id();
        fetches_[link.get()][id] = f.id;
        link->send(Type::kMethodRequest, id, m);
        return;
      }
      answer(link, f.id);
      return;
    }
    if (f.type == Type::kUpcallAck) {
      auto a = decode<Lcf::UpcallAck>(f);
      if (e.spool.empty() || e.spool.front() != a.id) return;
      e.spool.pop_front();
      e.upcall_sent.reset();
      ++stats_.acknowledged;
      send_upcall(e);
      return;
    }
    if (f.type == Type::kMethodBody) {
      auto b = decode<Lcf::MethodBody>(f);
      auto& pending = fetches_[link.get()];
      auto it = pending.find(f.id);
      if (it == pending.end()) return;
      ++stats_.fetched;
      stats_.fetched_bytes += b.program.length();
      if (b.program.length() > 0) e.cache.insert(b.digest.in());
      const auto call = it->second;
      pending.erase(it);
      answer(link, call);
    }
  }

  void answer(const std::shared_ptr<Link>& link, std::uint32_t id) {
    Lcf::DowncallResult r;
    r.exit_code = 0;
    r.output = "ok\n";
    link->send(Type::kDowncallResult, id, r);
    ++stats_.downcalls;
  }

  // The spool's first upcall, unless it is out and not yet due again.
  void send_upcall(Endpoint& e) {
    if (!e.link || e.spool.empty()) return;
    if (e.upcall_sent && Clock::now() - *e.upcall_sent < kUpcallResend) return;
    Lcf::Upcall u;
    u.id = e.spool.front();
    u.method = o_.upcall_method.c_str();
    u.args.length(1);
    u.args[0] = std::to_string(u.id).c_str();
    e.link->send(Type::kUpcall, 0, u);
    e.upcall_sent = Clock::now();
  }

  void session_lost(std::size_t i, const std::shared_ptr<Link>& link) {
    Endpoint& e = endpoints_[i];
    fetches_.erase(link.get());
    if (e.link != link) return;
    e.link.reset();
    e.upcall_sent.reset();
    if (i < o_.upcalls) {  // something to report happened while it was cut off
      e.spool.push_back(upcall_base_ + ++upcalls_made_);
      ++stats_.spooled;
    }
    --stats_.up;
    ++stats_.lost;
    e.lost = Clock::now();
    // As lcfd: its gateway at once (a planned stop redirected it first), the others after a
    // random jitter so that a dead gateway's endpoints do not all arrive at once.
    const int wait = e.redirected ? 0 : random_ms(static_cast<int>(o_.jitter * 1000));
    e.redirected = false;
    after(std::chrono::milliseconds(wait), [this, i] { login(i, 0); });
  }

  int random_ms(int bound) {
    if (bound <= 0) return 0;
    return std::uniform_int_distribution<int>(0, bound)(random_);
  }

  void tick() {
    report_timer_.expires_after(std::chrono::seconds(o_.report));
    report_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      print_line(fmt::format("{:.0f}s", std::chrono::duration<double>(Clock::now() - started_).count()));
      if (dirty_) save_identities();
      for (auto& e : endpoints_) send_upcall(e);
      tick();
    });
  }

  void print_line(const std::string& when) {
    auto r = stats_.relogin_seconds;
    std::sort(r.begin(), r.end());
    auto pct = [&](double p) { return r.empty() ? 0.0 : r[std::min(r.size() - 1, static_cast<std::size_t>(p * r.size()))]; };
    std::string kinds;
    for (const auto& [k, n] : stats_.logins) kinds += fmt::format(" {}={}", k, n);
    fmt::print("{}: up {}/{}; logins{}; refused {}; downcalls {}; fetched {} ({} bytes); TLS "
               "resumed {}; lost {}; re-logins {} (p50 {:.2f} s, p99 {:.2f} s, max {:.2f} s); "
               "upcalls spooled {}, acknowledged {}; all up {}\n",
               when, stats_.up, o_.count, kinds.empty() ? " none" : kinds, stats_.refused,
               stats_.downcalls, stats_.fetched, stats_.fetched_bytes, stats_.resumed,
               stats_.lost, r.size(), pct(0.5), pct(0.99),
               r.empty() ? 0.0 : r.back(), stats_.spooled, stats_.acknowledged,
               all_up_ ? fmt::format("after {:.2f} s", *all_up_) : std::string("not yet"));
    std::fflush(stdout);
  }

  void load_identities() {
    endpoints_.resize(o_.count);
    for (std::size_t i = 0; i < o_.count; ++i) {
      endpoints_[i].index = i;
      endpoints_[i].label = fmt::format("{}{:05}", o_.prefix, i);
    }
    std::ifstream in(o_.dir + "/identities");
    std::map<std::string, Endpoint*> by_label;
    for (auto& e : endpoints_) by_label[e.label] = &e;
    std::string label, oid, key, gateway;
    while (in >> label >> oid >> key >> gateway) {
      auto it = by_label.find(label);
      if (it == by_label.end()) continue;
      it->second->oid = oid;
      it->second->key = key;
      try {
        it->second->gateway = parse_gateways(gateway, 9494).at(0);
      } catch (const std::exception&) {
      }
    }
    if (!o_.local_ips.empty()) parse_local_ips();
  }

  void save_identities() {
    std::string text;
    for (const auto& e : endpoints_)
      if (!e.oid.empty())
        text += fmt::format("{} {} {} {}\n", e.label, e.oid, e.key, e.gateway.text());
    write_file_atomically(o_.dir + "/identities", text, 0600);
    dirty_ = false;
  }

  void parse_local_ips() {
    const auto dash = o_.local_ips.find('-');
    const auto first = asio::ip::make_address_v4(o_.local_ips.substr(0, dash)).to_uint();
    const auto last = dash == std::string::npos
                          ? first
                          : asio::ip::make_address_v4(o_.local_ips.substr(dash + 1)).to_uint();
    for (auto a = first; a <= last; ++a) local_ips_.push_back(asio::ip::address_v4(a));
  }

  asio::io_context& io_;
  Options o_;
  std::unique_ptr<ssl::context> tls_;
  asio::steady_timer report_timer_;
  std::vector<Endpoint> endpoints_;
  std::vector<asio::ip::address_v4> local_ips_;
  std::map<const Link*, std::map<std::uint32_t, std::uint32_t>> fetches_;  // fetch id -> downcall
  std::mt19937 random_{std::random_device{}()};
  Stats stats_;
  bool dirty_ = false;
  Clock::time_point started_ = Clock::now();
  std::optional<double> all_up_;  // seconds from the start until every endpoint was first up
  // Upcall ids: microseconds since the epoch at the start, plus a count, so that a later run's
  // are higher than an earlier one's (the Endpoint Manager drops ids it has seen).
  const std::uint64_t upcall_base_ = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch()).count());
  std::uint64_t upcalls_made_ = 0;
};

// The descriptor limit raised to its hard maximum: one per session.
void raise_fd_limit(std::size_t need) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  rl.rlim_cur = rl.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < need + 64)
    std::cerr << fmt::format("lcf_sim: only {} file descriptors for {} sessions (ulimit -Hn)\n",
                             rl.rlim_cur, need);
}

}  // namespace

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);  // a session's write to a closed peer is an error, not a death
  Options o;
  std::string gateways;
  po::options_description desc("options");
  desc.add_options()("help,h", "this text")(
      "gateway", po::value(&gateways), "login interfaces: HOST+PORT[:HOST+PORT...]")(
      "count", po::value(&o.count), "endpoints (default 100)")(
      "dir", po::value(&o.dir), "where identities are kept")(
      "prefix", po::value(&o.prefix), "label prefix (default sim: sim00000, ...)")(
      "plain", po::bool_switch(&o.plain), "no TLS (the gateway must say plain_sessions=accept)")(
      "rate", po::value(&o.rate), "logins started per second at the start (default: all at once)")(
      "jitter", po::value(&o.jitter), "bound of the random wait before a re-login (s; default 5)")(
      "duration", po::value(&o.duration), "seconds to run (default 0: until a signal)")(
      "report", po::value(&o.report), "seconds between report lines (default 5)")(
      "expect", po::value(&o.expect), "exit 1 unless this many are logged in at the end")(
      "local-ips", po::value(&o.local_ips), "source addresses A.B.C.D-A.B.C.E, round robin")(
      "upcalls", po::value(&o.upcalls),
      "the first N endpoints spool an upcall each time their session is lost (default 0)")(
      "upcall-method", po::value(&o.upcall_method),
      "the Endpoint Manager's method the upcalls call (default report)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << kUsage << "\n" << desc;
      return 0;
    }
    if (gateways.empty() || o.dir.empty() || o.count == 0 || o.report < 1)
      throw std::invalid_argument("--gateway, --dir and a --count above 0 are needed");
    o.gateways = parse_gateways(gateways, 9494);
    make_directories(o.dir, 0700);
  } catch (const std::exception& e) {
    std::cerr << "lcf_sim: " << e.what() << "\n" << kUsage;
    return 2;
  }
  raise_fd_limit(o.count);
  asio::io_context io;
  Simulator sim(io, o);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) { io.stop(); });
  asio::steady_timer end(io);
  if (o.duration > 0) {
    end.expires_after(std::chrono::seconds(o.duration));
    end.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) io.stop();
    });
  }
  sim.start();
  io.run();
  sim.finish();
  return sim.up() >= o.expect ? 0 : 1;
}
