// lcfd: the endpoint daemon (endpoint/Lcfd.h). Runs in the foreground (lcfd.sh, systemd or a
// supervisor puts it in the background); stops on SIGTERM or SIGINT.
//
// Exit codes: 0 stopped, 2 bad command line or configuration, 3 another lcfd runs for the
// directory, or it cannot serve its status port.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/format.h>

#include "Lcfd.h"
#include "ProgramVersion.h"
#include "TextFile.h"
#include "UniqueFd.h"
#include "Version.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

constexpr const char* kUsage =
    "usage: lcfd -C DIR [-g GW[+PORT][:GW...]] [-n LABEL] [-p PORT] [-P PORT] [-d LEVEL]\n"
    "            [-D KEY=VALUE]...\n"
    "       lcfd -C DIR --upcall METHOD [ARG...]\n"
    "\n"
    "The endpoint daemon: logs in to a gateway of the region and runs the methods called on the\n"
    "endpoint. Its state is files in DIR: lcf.dat (identity, assigned gateway, alternates;\n"
    "written after every login), last.cfg (the settings in effect; read at the next start,\n"
    "under the command line), lcfd.log, lcfd.pid, cache/ (method programs), spool/ (upcalls).\n"
    "\n"
    "  -C DIR      the endpoint's directory (default $LCF_DATDIR)\n"
    "  -g LIST     gateways for the first login: host[+port], ':' between them\n"
    "  -n LABEL    the endpoint's name in the region (lcs.machine_name; default the host name)\n"
    "  -p PORT     the status page's port (lcfd_port; default 9495, 0 for none)\n"
    "  -P PORT     the port of gateways named without one (lcs.gateway_port; default 9494)\n"
    "  -d LEVEL    lcfd.log detail, 0 (errors) to 4 (log_threshold; default 1)\n"
    "  -D KEY=VAL  a setting: lcs.login_interfaces, lcs.machine_name, lcs.status_address,\n"
    "              udp_interval (s, connect wait and jitter bound; 5), login_interval (s between\n"
    "              rounds of attempts; 1800), lcs.method_timeout (s; 600), lcs.cache_limit\n"
    "              (bytes; 20971520), bcast_disable (1: no broadcast discovery; 0),\n"
    "              udp_attempts (broadcasts, udp_interval apart; 6), lcs.broadcast_address\n"
    "              (255.255.255.255),\n"
    "              lcs.tls (on|off; on: sessions are TLS, the gateway's region CA checked),\n"
    "              lcs.ca_file (the region CA to trust; default DIR/region-ca.pem),\n"
    "              local_ip_interface (the address it connects from: a service address that\n"
    "              moves with the endpoint; default any)\n"
    "  --configure checks the settings, writes them to last.cfg and exits (winstlcf)\n"
    "  --upcall METHOD [ARG...]\n"
    "              spool an upcall (method METHOD of the Endpoint Manager) for the running lcfd\n"
    "              to send; prints its id\n"
    "\n"
    "Exit codes: 0 stopped, 2 usage or configuration error, 3 another lcfd runs for DIR or the\n"
    "status port is taken.\n";

struct CommandLine {
  std::string dir, gateways, label;
  int level = -1;
  long status_port = -1, gateway_port = -1;
  std::vector<std::string> defines, upcall;
  bool configure = false;
};

// last.cfg, then the command line over it.
lcf::LcfdConfig effective_config(const CommandLine& cl) {
  const std::string& dir = cl.dir;
  lcf::LcfdConfig config;
  config.dir = dir;
  make_directories(dir, 0700);
  if (auto last = read_text_file(dir + "/last.cfg"))
    lcf::apply_config_file(config, *last, dir + "/last.cfg");
  if (cl.gateway_port > 0) config.set("lcs.gateway_port", std::to_string(cl.gateway_port));
  for (const auto& d : cl.defines) {
    const size_t eq = d.find('=');
    if (eq == std::string::npos) throw std::invalid_argument(fmt::format("-D {}: not KEY=VALUE", d));
    if (!config.set(d.substr(0, eq), d.substr(eq + 1)))
      throw std::invalid_argument(fmt::format("-D {}: unknown setting", d.substr(0, eq)));
  }
  if (!cl.gateways.empty()) config.set("lcs.login_interfaces", cl.gateways);
  if (!cl.label.empty()) config.label = cl.label;
  if (cl.status_port >= 0) config.set("lcfd_port", std::to_string(cl.status_port));
  if (cl.level >= 0) config.set("log_threshold", std::to_string(cl.level));
  if (config.label.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    config.label = host;
  }
  return config;
}

// One lcfd per directory: the lock on lcfd.pid is the fence on this host (a second session
// with the same identity from another host is refused by the gateway). Says why and returns an
// invalid fd when it cannot be had.
UniqueFd lock_pid_file(const std::string& pid_path, const std::string& dir) {
  UniqueFd pid_fd(::open(pid_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!pid_fd || ::flock(pid_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    auto other = read_text_file(pid_path);
    std::cerr << fmt::format("lcfd: another lcfd (pid {}) runs for {}\n",
                             other ? other->substr(0, other->find('\n')) : "?", dir);
    return UniqueFd(-1);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(pid_fd.get(), 0) != 0 || ::pwrite(pid_fd.get(), pid.data(), pid.size(), 0) < 0) {
    std::cerr << fmt::format("lcfd: {}: cannot write\n", pid_path);
    return UniqueFd(-1);
  }
  return pid_fd;
}


// An exit code when the process is to end now (--help, --version, a bad command line).
std::optional<int> parse_command_line(int argc, char** argv, CommandLine& cl) {
  po::options_description desc("options");
  desc.add_options()("help,h", "")("version", "")("C", po::value(&cl.dir), "")(
      "g", po::value(&cl.gateways), "")("n", po::value(&cl.label), "")("p", po::value(&cl.status_port), "")(
      "P", po::value(&cl.gateway_port), "")("d", po::value(&cl.level), "")(
      "D", po::value(&cl.defines)->composing(), "")("upcall", po::value(&cl.upcall)->multitoken(), "")(
      "configure", "");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(desc)
                  .style(po::command_line_style::default_style |
                         po::command_line_style::allow_long_disguise)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "lcfd: " << e.what() << "\n" << kUsage;
    return 2;
  }
  if (vm.count("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (vm.count("version")) {
    print_version("lcfd");
    return 0;
  }
  cl.configure = vm.count("configure") > 0;
  if (cl.dir.empty())
    if (const char* env = std::getenv("LCF_DATDIR")) cl.dir = env;
  if (cl.dir.empty()) {
    std::cerr << "lcfd: no directory: give -C DIR or set LCF_DATDIR\n" << kUsage;
    return 2;
  }
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  CommandLine cl;
  if (auto code = parse_command_line(argc, argv, cl)) return *code;
  const std::string& dir = cl.dir;
  const std::vector<std::string>& upcall = cl.upcall;
  if (!upcall.empty()) {
    try {
      const auto id = lcf::spool_upcall(dir, upcall.front(), {upcall.begin() + 1, upcall.end()});
      std::cout << id << "\n";
      return 0;
    } catch (const std::exception& e) {
      std::cerr << "lcfd: " << e.what() << "\n";
      return 1;
    }
  }

  lcf::LcfdConfig config;
  try {
    config = effective_config(cl);
  } catch (const std::exception& e) {
    std::cerr << "lcfd: " << e.what() << "\n";
    return 2;
  }

  if (cl.configure) {  // winstlcf: check the settings, keep them, do not run
    write_file_atomically(dir + "/last.cfg", config.text(), 0600);
    std::cout << config.text();
    return 0;
  }

  const std::string pid_path = dir + "/lcfd.pid";
  UniqueFd pid_fd = lock_pid_file(pid_path, dir);
  if (!pid_fd) return 3;
  write_file_atomically(dir + "/last.cfg", config.text(), 0600);

  OservLog log;
  try {
    log.open(dir + "/lcfd.log");
  } catch (const std::exception& e) {
    std::cerr << "lcfd: " << e.what() << "\n";
    return 2;
  }
  log.set_mirror_stderr(false);
  // Whatever mask the starter left: SIGTERM and SIGINT reach the event loop, SIGPIPE nobody.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_SETMASK, &block, nullptr);

  lcf::asio::io_context io;
  lcf::asio::signal_set signals(io, SIGTERM, SIGINT);
  lcf::Lcfd lcfd(io, config, log);
  try {
    lcfd.start();
  } catch (const std::exception& e) {
    log.line(fmt::format("0 {}", e.what()));
    std::cerr << "lcfd: " << e.what() << "\n";
    ::unlink(pid_path.c_str());
    return 3;
  }
  log.line(fmt::format("0 lcfd {} started for {} (pid {}), endpoint {}", OPENOSERV_VERSION, dir,
                       ::getpid(), config.label));
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    log.line(fmt::format("0 lcfd stopping (signal {})", sig));
    lcfd.stop();
    io.stop();
  });
  io.run();
  ::unlink(pid_path.c_str());
  log.line("0 lcfd stopped");
  ::_exit(0);  // method threads still ending hold no state worth a destructor's wait
}
