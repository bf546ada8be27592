// oserv command-line options.
#include "Settings.h"

#include <arpa/inet.h>

#include <cstdlib>
#include <iostream>
#include <optional>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "HostPort.h"
#include "ProgramVersion.h"

namespace po = boost::program_options;

namespace openoserv {

namespace {

const char* kUsage = R"(Usage: oserv [--id ID] [--etc-root DIR] [--foreground] [options]

Runs the openoserv object dispatcher of one instance. The instance is chosen by --id, else
$OSERV, else "oserv"; its parameters come from the instances file <etc-root>/instances
(lines ID:DBDIR:ETCDIR:PORT:HOSTNAME) or, with --registry / $OSERV_REGISTRY, from a registry
export (HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\<ID>\Parameters). Flags override
the environment ($OSERV, $WLOCALHOST, $OSERV_ETC_ROOT), which overrides the file.

Without --foreground the oserv detaches and the command returns once the dispatcher answers
(exit 0) or start-up failed (its exit code). The log is $DBDIR/oservlog.

Exit codes:
  0  started (or, in the foreground, stopped cleanly by SIGTERM/SIGINT or odadmin shutdown)
  1  runtime failure (database, ORB, log file)
  2  configuration or usage error (unknown ID, bad instances file, odlist mismatch)
  3  the instance is already running, or its database is owned by another oserv
  4  the port or the logical host's address is not available (port still in use after
     --bind-timeout, address not on this machine, permission denied)

Signals: TERM, INT stop gracefully (within --stop-timeout); HUP reopens the log file.
)";

struct Raw {
  std::string id, etc_root, registry, dbdir, etcdir, hostname, remote_calls = "relay";
  int port = 0;
};

po::options_description options(Settings& s, Raw& raw) {
  po::options_description opts("Options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("id", po::value(&raw.id), "instance ID (default: $OSERV, else oserv)")
      ("etc-root", po::value(&raw.etc_root),
       "configuration root (default: $OSERV_ETC_ROOT, else /etc/Tivoli)")
      ("registry", po::value(&raw.registry), "read parameters from this registry export (.reg)")
      ("dbdir", po::value(&raw.dbdir), "database directory (overrides the instances file)")
      ("etcdir", po::value(&raw.etcdir), "instance etc directory (default <etc-root>/<ID>)")
      ("port", po::value(&raw.port), "TCP port (default 94)")
      ("hostname", po::value(&raw.hostname),
       "logical host (default: $WLOCALHOST, instances file, <etc-root>/../wlocalhost, hostname)")
      ("foreground", po::bool_switch(&s.foreground), "do not detach; log to stderr too")
      ("force-bind", po::bool_switch(&s.force_bind),
       "bind the logical host's address only, whatever the database says")
      ("nosync", po::bool_switch(&s.nosync),
       "do not fsync commits, whatever the database says (tests and benchmarks only)")
      ("join-interval", po::value(&s.join_interval)->default_value(10),
       "managed node: seconds between attempts to reach a TMR server that does not answer")
      ("method-timeout", po::value(&s.method_timeout)->default_value(600),
       "seconds a method program may run before it is ended (SIGTERM, then SIGKILL of its "
       "process group 5 s later); a call on another dispatcher's object waits that long plus "
       "8 s for the owner's answer")
      ("idle-connection-timeout", po::value(&s.idle_connection_timeout)->default_value(180),
       "seconds an incoming connection may stay without a request, a request may take to "
       "arrive whole, and a reply may stay unacknowledged, before the connection is closed")
      ("remote-calls", po::value(&raw.remote_calls)->default_value("relay"),
       "calls on object references owned by another dispatcher: relay (this dispatcher calls "
       "the owner) or forward (GIOP LOCATION_FORWARD: the caller's ORB goes to the owner)")
      ("journal-idle-ms", po::value(&s.journal_idle_ms)->default_value(100),
       "empty odb.log once no transaction has been open for this many milliseconds")
      ("bind-wait-interval", po::value(&s.bind_wait_interval)->default_value(20),
       "seconds between checks of a port in use")
      ("bind-timeout", po::value(&s.bind_timeout)->default_value(300),
       "seconds to wait for a port in use before giving up")
      ("stop-timeout", po::value(&s.stop_timeout)->default_value(10),
       "seconds a graceful stop may take before the process exits anyway")
      ("transaction-lease", po::value(&s.transaction_lease)->default_value(600),
       "seconds an open transaction may go without a call (its client went away) before it is "
       "rolled back and its locks released")
      ("lock-timeout", po::value(&s.lock_timeout)->default_value(30),
       "seconds a transaction waits for an object lock before failing")
      ("metrics", po::value(&s.metrics),
       "serve Prometheus metrics at http://ADDR:PORT/metrics (off by default; no "
       "authentication: bind a loopback or management address; docs/OPERATIONS.md)")
      ("console", po::value(&s.console),
       "serve the read-only web console at https://ADDR:PORT/ (off by default; a TMR server's "
       "option: administrators' client certificates, as for remote clients; docs/OPERATIONS.md)");
  return opts;
}

// An optional IP:PORT to listen on (`option` names it in the error; `example` shows the form).
void check_listen_address(const char* option, const std::string& address, const char* example) {
  if (address.empty()) return;
  std::optional<HostPort> where;
  try {
    where = parse_host_port(address, 0);
  } catch (const std::invalid_argument& e) {
    throw StartError{kConfig, fmt::format("{} {}", option, e.what())};
  }
  in6_addr ip{};
  if (where->port == 0 || (::inet_pton(AF_INET, where->host.c_str(), &ip) != 1 &&
                           ::inet_pton(AF_INET6, where->host.c_str(), &ip) != 1))
    throw StartError{kConfig, fmt::format("{} {}: give an IP address and a port ({})", option,
                                          address, example)};
}

void check(const Settings& s, const Raw& raw, const po::variables_map& vm) {
  if (vm.count("port") && (raw.port < 1 || raw.port > 65535))
    throw StartError{kConfig, fmt::format("--port {} is not a TCP port (1-65535)", raw.port)};
  if (s.journal_idle_ms < 1 || s.join_interval < 1 || s.method_timeout < 1 ||
      s.idle_connection_timeout < 1)
    throw StartError{kConfig, "--journal-idle-ms, --join-interval, --method-timeout and "
                              "--idle-connection-timeout must be at least 1"};
  if (s.bind_wait_interval < 1 || s.bind_timeout < 0 || s.stop_timeout < 1 ||
      s.lock_timeout < 1 || s.transaction_lease < 1)
    throw StartError{kConfig, "--bind-wait-interval, --stop-timeout, --lock-timeout and "
                              "--transaction-lease must be at least 1 second, --bind-timeout at "
                              "least 0"};
  check_listen_address("--metrics", s.metrics, "127.0.0.1:9100");
  check_listen_address("--console", s.console, "192.0.2.10:9443");
  if (raw.remote_calls != "relay" && raw.remote_calls != "forward")
    throw StartError{kConfig, fmt::format("--remote-calls {}: must be relay or forward",
                                          raw.remote_calls)};
}

}  // namespace

Settings parse_command_line(int argc, char** argv) {
  Settings s;
  Raw raw;
  const auto opts = options(s, raw);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(opts).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw StartError{kConfig, fmt::format("{} (see oserv --help)", e.what())};
  }
  if (vm.count("help")) {
    std::cout << kUsage << "\n" << opts;
    std::exit(kOk);
  }
  if (vm.count("version")) {
    print_version("oserv");
    std::exit(kOk);
  }
  check(s, raw, vm);
  auto given = [&](const char* name, const std::string& v) {
    return vm.count(name) ? std::optional<std::string>(v) : std::nullopt;
  };
  s.flags.id = given("id", raw.id);
  s.flags.etc_root = given("etc-root", raw.etc_root);
  s.flags.registry = given("registry", raw.registry);
  s.flags.dbdir = given("dbdir", raw.dbdir);
  s.flags.etcdir = given("etcdir", raw.etcdir);
  s.flags.hostname = given("hostname", raw.hostname);
  if (vm.count("port")) s.flags.port = static_cast<std::uint16_t>(raw.port);
  if (raw.remote_calls == "forward") s.remote_calls = ObjectAdapter::RemoteCalls::kLocationForward;
  return s;
}

}  // namespace openoserv
