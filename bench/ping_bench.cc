// ping_bench: round-trip latency of Dispatcher::ping on a running oserv, beside a raw omniORB
// ping served by a child process of this benchmark (in a session of its own, as the oserv daemon
// is: BaselineServer.h) on the same transport, in the same run: the Unix socket, and TLS (the
// oserv's port speaks nothing else; the raw server uses the same certificate and omniORB's same
// SSL transport).
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
#include "OrbInit.h"
#include "OrbTls.h"
#include "Rounds.h"
#include "oserv.hh"
#include "raw.hh"

namespace po = boost::program_options;

namespace {

class RawPinger : public POA_RawBench::Pinger {
 public:
  void ping() override {}
};

// The baseline server: same ORB, same endpoint kinds and TLS files, nothing else.
[[noreturn]] void serve_raw(const std::string& tls, const std::string& unix_path,
                            const openoserv::TlsFiles& files, int ready_fd) {
  const std::string tls_ep = "giop:ssl:" + tls, unix_ep = "giop:unix:" + unix_path;
  openoserv::OrbOptions options = openoserv::tls_options(files);
  options.emplace_back("endPoint", tls_ep);
  options.emplace_back("endPoint", unix_ep);
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
  std::string oserv_socket, oserv_tls, raw_tls, raw_socket;
  openoserv::TlsFiles files;
  int calls = 2000, rounds = 15;
  po::options_description opts(
      "Usage: ping_bench --oserv-socket PATH --oserv-tls HOST:PORT --raw-tls HOST:PORT "
      "--raw-socket PATH --ca FILE --identity FILE\n(scripts/bench.sh sets everything up)\n"
      "Options");
  opts.add_options()("help,h", "print this help")
      ("oserv-socket", po::value(&oserv_socket)->required(), "the oserv's Unix socket")
      ("oserv-tls", po::value(&oserv_tls)->required(), "the oserv's HOST:PORT")
      ("raw-tls", po::value(&raw_tls)->required(), "HOST:PORT for the raw baseline server")
      ("ca", po::value(&files.ca)->required(), "the region CA (DBDIR/ssl/ca.pem)")
      ("identity", po::value(&files.identity)->required(),
       "the certificate both ends show (DBDIR/ssl/identity.pem)")
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
      "ping_bench", [&](int ready_fd) { serve_raw(raw_tls, raw_socket, files, ready_fd); });

  CORBA::ORB_var orb = openoserv::init_orb(argv[0], openoserv::tls_options(files));
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
  transports.push_back({"tls", dispatcher(openoserv::corbaloc_url(oserv_tls, "Dispatcher")),
                        raw(openoserv::corbaloc_url(raw_tls, "Pinger"))});

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
