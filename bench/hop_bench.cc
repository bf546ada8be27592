// hop_bench: calls on another dispatcher's object (the built-in ManagedNode ping of oserv B's
// object) beside raw omniORB on the same transport (IIOP over loopback), in the same run, with 1
// and 16 concurrent client threads:
//   Dispatcher::invoke at A, and the object's reference at A: A relays to B; the baseline is raw
//     two-hop forwarding (client -> process 1 -> process 2, both children of this benchmark);
//   the reference at an oserv run with --remote-calls forward (GIOP LOCATION_FORWARD: the
//     client's ORB goes to B itself after the first call), and B's own IOR: the baseline is one
//     raw hop (client -> process 2).
//
// Every ORB here may open as many connections to one server as the oserv does to another
// dispatcher (maxGIOPConnectionPerServer), so the 16 client threads stand for 16 client programs,
// each with its own connection, rather than queueing for omniORB's default of 5, and the raw
// forwarder has the oserv's connection policy. The raw processes run in sessions of their own, as
// the oserv daemons do (see BaselineServer.h). Raw and oserv alternate in short rounds; the
// ratio is the median of the rounds' ratios, so that drift of this shared machine cancels.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <iostream>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "BaselineServer.h"
#include "OrbInit.h"
#include "OrbTls.h"
#include "Rounds.h"
#include "oserv.hh"
#include "raw.hh"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;

namespace {

// As the oserv's (kMaxPeerConnections in oserv/main.cc): keep the two equal.
constexpr const char* kConnectionsPerServer = "256";

class Target : public POA_RawBench::Hop {
 public:
  char* call() override { return CORBA::string_dup("alive\n"); }
};

class Forwarder : public POA_RawBench::Hop {
 public:
  explicit Forwarder(RawBench::Hop_ptr next) : next_(RawBench::Hop::_duplicate(next)) {}
  char* call() override { return next_->call(); }

 private:
  RawBench::Hop_var next_;
};

// A baseline server process serving one Hop object on `endpoint` (host:port) over TLS with
// `files`, forwarding to `next` if set. With `deadlines`, it has the oserv's: the forwarded call
// has a deadline of its own, as every call between dispatchers does, and idle connections are
// closed after 180 s. (The oserv's own deadline for a request's arguments costs nothing when
// they arrive with the header, so the baseline goes without.)
pid_t serve(const std::string& endpoint, const std::string& next,
            const openoserv::TlsFiles& files, bool deadlines) {
  return openoserv::bench::start_baseline_server("hop_bench", [&](int ready_fd) {
    openoserv::OrbOptions options = openoserv::tls_options(files);
    options.emplace_back("endPoint", "giop:ssl:" + endpoint);
    options.emplace_back("maxGIOPConnectionPerServer", kConnectionsPerServer);
    if (deadlines) {
      options.emplace_back("inConScanPeriod", "180");
    }
    openoserv::bench::serve_object(
        "hop_server", options, "Hop", ready_fd,
        [&](CORBA::ORB_ptr orb) -> PortableServer::ServantBase* {
          if (next.empty()) return new Target;
          CORBA::Object_var n =
              orb->string_to_object(openoserv::corbaloc_url(next, "Hop").c_str());
          RawBench::Hop_var hop = RawBench::Hop::_narrow(n);
          if (deadlines) omniORB::setClientCallTimeout(hop, 600000);
          return new Forwarder(hop);
        });
  });
}

struct Rate {
  double calls_per_second, latency_us;
};

template <typename Call>
Rate measure(int threads, double seconds, Call&& call) {
  std::atomic<std::uint64_t> calls{0};
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t)
    workers.emplace_back([&] {
      std::uint64_t n = 0;
      while (Clock::now() < end) {
        call();
        ++n;
      }
      calls += n;
    });
  for (auto& w : workers) w.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const double rate = calls / elapsed;
  return {rate, threads * 1e6 / rate};
}

struct Options {
  std::string oserv, oid, relay_url, forward_url, owner_ior, raw1, raw2;
  openoserv::TlsFiles files;
  bool deadlines = false;
  double seconds = 3;
  int rounds = 9;
};

Options parse(int argc, char** argv) {
  Options o;
  po::options_description opts(
      "Usage: hop_bench --oserv HOST:PORT --oid OID --raw1 HOST:PORT --raw2 HOST:PORT\n"
      "                 --ca FILE --identity FILE\n"
      "                 [--relay-url URL --forward-url URL --owner-ior IOR]\n"
      "(scripts/bench.sh hop sets everything up)\nOptions");
  opts.add_options()("help,h", "print this help")(
      "oserv", po::value(&o.oserv)->required(), "oserv A (the one the client calls)")(
      "oid", po::value(&o.oid)->required(), "an object owned by oserv B (its ManagedNode)")(
      "relay-url", po::value(&o.relay_url), "the object's corbaloc URL at A (relays to B)")(
      "forward-url", po::value(&o.forward_url),
      "the object's corbaloc URL at an oserv run with --remote-calls forward")(
      "owner-ior", po::value(&o.owner_ior), "the object's IOR (at B itself)")(
      "raw1", po::value(&o.raw1)->required(), "address for the raw forwarder")(
      "raw2", po::value(&o.raw2)->required(), "address for the raw target")(
      "ca", po::value(&o.files.ca)->required(), "the region CA (DBDIR/ssl/ca.pem)")(
      "deadlines", po::bool_switch(&o.deadlines),
      "give the raw servers the oserv's deadlines (idle connections closed after 180 s, a "
      "forwarded call's own timeout)")(
      "identity", po::value(&o.files.identity)->required(),
      "the certificate every end shows (DBDIR/ssl/identity.pem)")(
      "seconds", po::value(&o.seconds)->default_value(3), "seconds per measurement")(
      "rounds", po::value(&o.rounds)->default_value(9), "alternating rounds per measurement");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts;
      std::exit(0);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "hop_bench: " << e.what() << "\n";
    std::exit(2);
  }
  return o;
}

// One row: `oserv_call` against `raw_call` in alternating rounds, the medians and their ratio.
void compare(const char* what, int threads, const Options& o, const std::function<void()>& raw_call,
             const std::function<void()>& oserv_call) {
  for (int i = 0; i < 200; ++i) {  // warm up connections on both paths
    raw_call();
    oserv_call();
  }
  std::vector<Rate> raws, oservs;
  std::vector<double> ratios;
  for (int round = 0; round < o.rounds; ++round) {
    openoserv::bench::take_turns(
        round, [&] { raws.push_back(measure(threads, o.seconds / o.rounds, raw_call)); },
        [&] { oservs.push_back(measure(threads, o.seconds / o.rounds, oserv_call)); });
    ratios.push_back(raws.back().calls_per_second / oservs.back().calls_per_second);
  }
  auto slower = [](const Rate& a, const Rate& b) { return a.calls_per_second < b.calls_per_second; };
  const Rate a = openoserv::bench::median(raws, slower);
  const Rate b = openoserv::bench::median(oservs, slower);
  fmt::print("{:<34}{:>4}{:>12.0f}{:>9.1f}{:>12.0f}{:>9.1f}{}\n", what, threads, a.calls_per_second,
             a.latency_us, b.calls_per_second, b.latency_us,
             openoserv::bench::ratio_summary(ratios));
}

template <typename T>
typename T::_ptr_type reference(CORBA::ORB_ptr orb, const std::string& text) {
  CORBA::Object_var obj = orb->string_to_object(text.c_str());
  return T::_narrow(obj);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  pid_t target = serve(o.raw2, "", o.files, o.deadlines);
  pid_t forwarder = serve(o.raw1, o.raw2, o.files, o.deadlines);

  openoserv::OrbOptions client_options = openoserv::tls_options(o.files);
  client_options.emplace_back("maxGIOPConnectionPerServer", kConnectionsPerServer);
  CORBA::ORB_var orb = openoserv::init_orb(argv[0], client_options);
  using openoserv::corbaloc_url;
  auto raw_two_hops = reference<RawBench::Hop>(orb, corbaloc_url(o.raw1, "Hop"));
  auto raw_one_hop = reference<RawBench::Hop>(orb, corbaloc_url(o.raw2, "Hop"));
  auto dispatcher = reference<OServ::Dispatcher>(orb, corbaloc_url(o.oserv, "Dispatcher"));
  const OServ::StringList no_args;
  std::vector<std::pair<const char*, OServ::ManagedNode_var>> objects;
  if (!o.relay_url.empty())
    objects.emplace_back("object ref at A, relayed to B", reference<OServ::ManagedNode>(orb, o.relay_url));
  if (!o.forward_url.empty())
    objects.emplace_back("object ref, LOCATION_FORWARD to B",
                         reference<OServ::ManagedNode>(orb, o.forward_url));
  if (!o.owner_ior.empty())
    objects.emplace_back("object ref at B (its IOR)", reference<OServ::ManagedNode>(orb, o.owner_ior));

  auto two_hops = [&] { CORBA::String_var s = raw_two_hops->call(); };
  auto one_hop = [&] { CORBA::String_var s = raw_one_hop->call(); };
  fmt::print("calls over IIOP on TLS from one client process; raw omniORB baseline: two hops (client ->\n"
             "forwarder -> target) for relayed calls, one hop for the others\n");
  fmt::print("{:<34}{:>4}{:>12}{:>9}{:>12}{:>9}{:>9}\n", "path (built-in ManagedNode ping at B)",
             "thr", "raw/s", "raw us", "oserv/s", "oserv us", "ratio");
  for (int threads : {1, 16}) {
    compare("Dispatcher::invoke at A, relayed", threads, o, two_hops, [&] {
      OServ::MethodResult_var r = dispatcher->invoke(o.oid.c_str(), "ping", no_args);
    });
    for (auto& [what, node] : objects) {
      const bool relayed = std::string(what).find("relayed") != std::string::npos;
      compare(what, threads, o, relayed ? std::function<void()>(two_hops) : one_hop,
              [&, n = node.in()] { CORBA::String_var s = n->ping(); });
    }
  }
  orb->destroy();
  ::kill(forwarder, SIGTERM);
  ::kill(target, SIGTERM);
  ::waitpid(forwarder, nullptr, 0);
  ::waitpid(target, nullptr, 0);
  return 0;
}
