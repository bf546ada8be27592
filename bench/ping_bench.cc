// ping_bench: round-trip latency of Dispatcher::ping on a running oserv, beside a raw omniORB
// ping served by a child process of this benchmark (in a session of its own, as the oserv daemon
// is: BaselineServer.h) on the same transport, in the same run.
//
// Calls alternate between the two targets in rounds, so drift of the machine (CPU frequency,
// other load) hits both alike; the reported figure per target is the median round.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "BaselineServer.h"
#include "Rounds.h"
#include "oserv.hh"
#include "raw.hh"

namespace po = boost::program_options;

namespace {

class RawPinger : public POA_RawBench::Pinger {
 public:
  void ping() override {}
};

// The baseline server: same ORB, same endpoint kinds, nothing else.
[[noreturn]] void serve_raw(const std::string& tcp, const std::string& unix_path, int ready_fd) {
  const std::string tcp_ep = "giop:tcp:" + tcp, unix_ep = "giop:unix:" + unix_path;
  const char* options[][2] = {
      {"endPoint", tcp_ep.c_str()}, {"endPoint", unix_ep.c_str()}, {nullptr, nullptr}};
  openoserv::bench::serve_object("raw_ping_server", options, "Pinger", ready_fd,
                                 [](CORBA::ORB_ptr) { return new RawPinger; });
}

template <typename Ping>
double round_us(Ping&& ping, int calls) {
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) ping();
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::micro>(t1 - t0).count() / calls;
}

}  // namespace

int main(int argc, char** argv) {
  std::string oserv_socket, oserv_tcp, raw_tcp, raw_socket;
  int calls = 2000, rounds = 15;
  po::options_description opts(
      "Usage: ping_bench --oserv-socket PATH --oserv-tcp HOST:PORT --raw-tcp HOST:PORT "
      "--raw-socket PATH\n(scripts/bench.sh sets everything up)\nOptions");
  opts.add_options()("help,h", "print this help")
      ("oserv-socket", po::value(&oserv_socket)->required(), "the oserv's Unix socket")
      ("oserv-tcp", po::value(&oserv_tcp)->required(), "the oserv's HOST:PORT")
      ("raw-tcp", po::value(&raw_tcp)->required(), "HOST:PORT for the raw baseline server")
      ("raw-socket", po::value(&raw_socket)->required(), "Unix socket for the raw server")
      ("calls", po::value(&calls)->default_value(2000), "calls per round")
      ("rounds", po::value(&rounds)->default_value(15), "rounds per target");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    if (vm.count("help")) {
      std::cout << opts;
      return 0;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "ping_bench: " << e.what() << "\n";
    return 2;
  }

  const pid_t server = openoserv::bench::start_baseline_server(
      "ping_bench", [&](int ready_fd) { serve_raw(raw_tcp, raw_socket, ready_fd); });

  int orb_argc = 1;
  char* orb_argv[] = {argv[0], nullptr};
  CORBA::ORB_var orb = CORBA::ORB_init(orb_argc, orb_argv, "omniORB4");
  auto dispatcher = [&](const std::string& loc) {
    CORBA::Object_var o = orb->string_to_object(loc.c_str());
    return OServ::Dispatcher::_narrow(o);
  };
  auto raw = [&](const std::string& loc) {
    CORBA::Object_var o = orb->string_to_object(loc.c_str());
    return RawBench::Pinger::_narrow(o);
  };

  struct Transport {
    const char* name;
    OServ::Dispatcher_var oserv;
    RawBench::Pinger_var raw;
  };
  std::vector<Transport> transports;
  transports.push_back({"unix", dispatcher("corbaloc:omniunix:" + oserv_socket + ":/Dispatcher"),
                        raw("corbaloc:omniunix:" + raw_socket + ":/Pinger")});
  transports.push_back({"tcp", dispatcher("corbaloc::" + oserv_tcp + "/Dispatcher"),
                        raw("corbaloc::" + raw_tcp + "/Pinger")});

  fmt::print("ping round trip, median of {} rounds x {} calls (lower is better)\n", rounds, calls);
  fmt::print("{:<10}{:>16}{:>16}{:>10}{:>14}\n", "transport", "raw omniORB us", "dispatcher us",
             "ratio", "dispatcher/s");
  int status = 0;
  for (auto& t : transports) {
    for (int i = 0; i < calls / 10; ++i) {  // warm up connections and caches
      t.raw->ping();
      t.oserv->ping();
    }
    std::vector<double> raw_rounds, oserv_rounds;
    for (int r = 0; r < rounds; ++r) {
      openoserv::bench::take_turns(
          r, [&] { raw_rounds.push_back(round_us([&] { t.raw->ping(); }, calls)); },
          [&] { oserv_rounds.push_back(round_us([&] { t.oserv->ping(); }, calls)); });
    }
    const double raw_us = openoserv::bench::median(raw_rounds);
    const double oserv_us = openoserv::bench::median(oserv_rounds);
    fmt::print("{:<10}{:>16.2f}{:>16.2f}{:>9.2f}x{:>14.0f}\n", t.name, raw_us, oserv_us,
               oserv_us / raw_us, 1e6 / oserv_us);
  }
  transports.clear();
  orb->destroy();
  ::kill(server, SIGTERM);
  ::waitpid(server, nullptr, 0);
  return status;
}
