// hop_bench: cross-dispatcher method calls (client -> oserv A -> oserv B, the built-in
// ManagedNode ping of B's object) beside raw omniORB two-hop forwarding (client -> process 1 ->
// process 2, both children of this benchmark) on the same transport (IIOP over loopback), in the
// same run, with 1 and 16 concurrent client threads.
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
#include <iostream>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "BaselineServer.h"
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

// A baseline server process serving one Hop object on `endpoint` (host:port), forwarding to
// `next` if set.
pid_t serve(const std::string& endpoint, const std::string& next) {
  return openoserv::bench::start_baseline_server("hop_bench", [&](int ready_fd) {
    const std::string ep = "giop:tcp:" + endpoint;
    const char* options[][2] = {{"endPoint", ep.c_str()},
                                {"maxGIOPConnectionPerServer", kConnectionsPerServer},
                                {nullptr, nullptr}};
    openoserv::bench::serve_object(
        "hop_server", options, "Hop", ready_fd,
        [&](CORBA::ORB_ptr orb) -> PortableServer::ServantBase* {
          if (next.empty()) return new Target;
          CORBA::Object_var n = orb->string_to_object(("corbaloc::" + next + "/Hop").c_str());
          return new Forwarder(RawBench::Hop::_narrow(n));
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

}  // namespace

int main(int argc, char** argv) {
  std::string oserv, oid, raw1, raw2;
  double seconds = 3;
  int rounds = 9;
  po::options_description opts(
      "Usage: hop_bench --oserv HOST:PORT --oid OID --raw1 HOST:PORT --raw2 HOST:PORT\n"
      "(scripts/bench.sh hop sets everything up)\nOptions");
  opts.add_options()("help,h", "print this help")(
      "oserv", po::value(&oserv)->required(), "oserv A (the one the client calls)")(
      "oid", po::value(&oid)->required(), "an object owned by oserv B (its ManagedNode)")(
      "raw1", po::value(&raw1)->required(), "address for the raw forwarder")(
      "raw2", po::value(&raw2)->required(), "address for the raw target")(
      "seconds", po::value(&seconds)->default_value(3), "seconds per measurement")(
      "rounds", po::value(&rounds)->default_value(9), "alternating rounds per measurement");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "hop_bench: " << e.what() << "\n";
    return 2;
  }
  pid_t target = serve(raw2, "");
  pid_t forwarder = serve(raw1, raw2);

  int orb_argc = 1;
  char* orb_argv[] = {argv[0], nullptr};
  const char* client_options[][2] = {{"maxGIOPConnectionPerServer", kConnectionsPerServer},
                                     {nullptr, nullptr}};
  CORBA::ORB_var orb = CORBA::ORB_init(orb_argc, orb_argv, "omniORB4", client_options);
  CORBA::Object_var r = orb->string_to_object(("corbaloc::" + raw1 + "/Hop").c_str());
  RawBench::Hop_var raw = RawBench::Hop::_narrow(r);
  CORBA::Object_var d = orb->string_to_object(("corbaloc::" + oserv + "/Dispatcher").c_str());
  OServ::Dispatcher_var dispatcher = OServ::Dispatcher::_narrow(d);
  OServ::StringList no_args;
  auto raw_call = [&] { CORBA::String_var s = raw->call(); };
  auto oserv_call = [&] {
    OServ::MethodResult_var result = dispatcher->invoke(oid.c_str(), "ping", no_args);
  };
  for (int i = 0; i < 200; ++i) {  // warm up connections on both paths
    raw_call();
    oserv_call();
  }
  fmt::print("two-hop calls over IIOP: client -> A -> B (built-in ManagedNode ping at B)\n");
  fmt::print("{:<9}{:>14}{:>14}{:>14}{:>14}{:>9}\n", "clients", "raw calls/s", "raw us",
             "oserv calls/s", "oserv us", "ratio");
  for (int threads : {1, 16}) {
    std::vector<Rate> raws, oservs;
    std::vector<double> ratios;
    for (int round = 0; round < rounds; ++round) {
      openoserv::bench::take_turns(
          round, [&] { raws.push_back(measure(threads, seconds / rounds, raw_call)); },
          [&] { oservs.push_back(measure(threads, seconds / rounds, oserv_call)); });
      ratios.push_back(raws.back().calls_per_second / oservs.back().calls_per_second);
    }
    auto slower = [](const Rate& a, const Rate& b) {
      return a.calls_per_second < b.calls_per_second;
    };
    const Rate a = openoserv::bench::median(raws, slower);
    const Rate b = openoserv::bench::median(oservs, slower);
    fmt::print("{:<9}{:>14.0f}{:>14.1f}{:>14.0f}{:>14.1f}{}\n", threads, a.calls_per_second,
               a.latency_us, b.calls_per_second, b.latency_us,
               openoserv::bench::ratio_summary(ratios));
  }
  orb->destroy();
  ::kill(forwarder, SIGTERM);
  ::kill(target, SIGTERM);
  ::waitpid(forwarder, nullptr, 0);
  ::waitpid(target, nullptr, 0);
  return 0;
}
