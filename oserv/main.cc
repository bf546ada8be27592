// oserv: the openoserv object dispatcher daemon.
//
// Start-up, in order (each step's failure has its own exit code, see usage()):
//   resolve the instance -> detach (unless --foreground) -> take the pid-file lock -> open the
//   database -> log the banner -> check the logical host and the odlist -> wait for the port ->
//   start the ORB on fixed endpoints -> activate the Dispatcher -> report ready.
// Then the main thread waits for signals: TERM/INT stop the oserv, HUP reopens the log.
#include <signal.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <thread>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "Daemon.h"
#include "Database.h"
#include "DispatcherServant.h"
#include "Instance.h"
#include "LogicalHost.h"
#include "OservLog.h"
#include "MethodThreads.h"
#include "PidFile.h"
#include "PortWait.h"
#include "Region.h"
#include "TextFile.h"
#include "Version.h"

namespace po = boost::program_options;
using namespace openoserv;

namespace {

// Concurrent calls to one other dispatcher, each on its own connection, before further calls
// wait for a free one. bench/hop_bench.cc gives its raw servers the same (keep the two equal).
constexpr const char* kMaxPeerConnections = "256";

enum Exit : int {
  kOk = 0,
  kRuntime = 1,
  kConfig = 2,
  kAlreadyRunning = 3,
  kAddressUnavailable = 4,
};

// Expected start-up failures: the message for the operator and the exit code.
struct StartError {
  int code;
  std::string message;
};

struct Settings {
  InstanceFlags flags;
  bool foreground = false;
  bool force_bind = false;
  bool nosync = false;
  int bind_wait_interval = 20;
  int bind_timeout = 300;
  int stop_timeout = 10;
  int lock_timeout = 30;
  int journal_idle_ms = 100;
  int join_interval = 10;
  int method_timeout = 600;
};

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

Settings parse_command_line(int argc, char** argv) {
  Settings s;
  std::string id, etc_root, registry, dbdir, etcdir, hostname;
  int port = 0;
  po::options_description opts("Options");
  opts.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("id", po::value(&id), "instance ID (default: $OSERV, else oserv)")
      ("etc-root", po::value(&etc_root),
       "configuration root (default: $OSERV_ETC_ROOT, else /etc/Tivoli)")
      ("registry", po::value(&registry), "read parameters from this registry export (.reg)")
      ("dbdir", po::value(&dbdir), "database directory (overrides the instances file)")
      ("etcdir", po::value(&etcdir), "instance etc directory (default <etc-root>/<ID>)")
      ("port", po::value(&port), "TCP port (default 94)")
      ("hostname", po::value(&hostname),
       "logical host (default: $WLOCALHOST, instances file, <etc-root>/../wlocalhost, hostname)")
      ("foreground", po::bool_switch(&s.foreground), "do not detach; log to stderr too")
      ("force-bind", po::bool_switch(&s.force_bind),
       "bind the logical host's address only, whatever the database says")
      ("nosync", po::bool_switch(&s.nosync),
       "do not fsync commits, whatever the database says (tests and benchmarks only)")
      ("join-interval", po::value(&s.join_interval)->default_value(10),
       "managed node: seconds between attempts to reach a TMR server that does not answer")
      ("method-timeout", po::value(&s.method_timeout)->default_value(600),
       "seconds a call forwarded to another dispatcher may take")
      ("journal-idle-ms", po::value(&s.journal_idle_ms)->default_value(100),
       "empty odb.log once no transaction has been open for this many milliseconds")
      ("bind-wait-interval", po::value(&s.bind_wait_interval)->default_value(20),
       "seconds between checks of a port in use")
      ("bind-timeout", po::value(&s.bind_timeout)->default_value(300),
       "seconds to wait for a port in use before giving up")
      ("stop-timeout", po::value(&s.stop_timeout)->default_value(10),
       "seconds a graceful stop may take before the process exits anyway")
      ("lock-timeout", po::value(&s.lock_timeout)->default_value(30),
       "seconds a transaction waits for an object lock before failing");
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
    std::cout << fmt::format("openoserv oserv {} ({}, built {})\n", OPENOSERV_VERSION,
                             OPENOSERV_GIT, OPENOSERV_BUILD_DATE);
    std::exit(kOk);
  }
  if (vm.count("port") && (port < 1 || port > 65535))
    throw StartError{kConfig, fmt::format("--port {} is not a TCP port (1-65535)", port)};
  if (s.journal_idle_ms < 1 || s.join_interval < 1 || s.method_timeout < 1)
    throw StartError{kConfig,
                     "--journal-idle-ms, --join-interval and --method-timeout must be at least 1"};
  if (s.bind_wait_interval < 1 || s.bind_timeout < 0 || s.stop_timeout < 1 || s.lock_timeout < 1)
    throw StartError{kConfig, "--bind-wait-interval, --stop-timeout and --lock-timeout must be at "
                              "least 1 second, --bind-timeout at least 0"};
  auto opt = [&](const char* name, const std::string& v) {
    return vm.count(name) ? std::optional<std::string>(v) : std::nullopt;
  };
  s.flags.id = opt("id", id);
  s.flags.etc_root = opt("etc-root", etc_root);
  s.flags.registry = opt("registry", registry);
  s.flags.dbdir = opt("dbdir", dbdir);
  s.flags.etcdir = opt("etcdir", etcdir);
  s.flags.hostname = opt("hostname", hostname);
  if (vm.count("port")) s.flags.port = static_cast<std::uint16_t>(port);
  return s;
}

std::string install_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("unknown") : exe.parent_path().string();
}

// Checks the logical host against this dispatcher's odlist entry. A different address means the
// database belongs to another host (or WLOCALHOST is not set as at install time): starting would
// publish this dispatcher under the wrong address, so refuse, as Tivoli did.
void check_odlist(db::Database& db, std::uint32_t od, const ResolvedInstance& inst,
                  const std::string& ip, OservLog& log, const char* argv0) {
  auto rec = db.od(od);
  if (!rec) {
    log.line(fmt::format("!{}: odlist init failed. requested resource not found. (30)", argv0));
    throw StartError{kConfig, fmt::format("dispatcher {} has no odlist entry in {}", od, inst.dbdir)};
  }
  if (rec->ip != ip) {
    log.line(fmt::format("$Database mismatch (from {}/{})", inst.logical_host, ip));
    log.line(fmt::format("!{}: odlist init failed. internal resource corrupted. (54)", argv0));
    throw StartError{
        kConfig,
        fmt::format("dispatcher {} is recorded in the odlist as {} ({}), but this start uses "
                    "logical host {} ({}, from {}). Set WLOCALHOST (or --hostname) to {} as at "
                    "install time, or change the odlist entry with 'odadmin odlist change_ip'.",
                    od, rec->hostnames.empty() ? rec->ip : rec->hostnames.front(), rec->ip,
                    inst.logical_host, ip, inst.logical_host_source,
                    rec->hostnames.empty() ? rec->ip : rec->hostnames.front())};
  }
  if (rec->port != inst.port) {
    log.line(fmt::format("odlist: dispatcher {} port changed from {} to {}", od, rec->port,
                         inst.port));
    rec->port = inst.port;
    db.put_od(*rec);
  }
}

// A stop that hangs (a stuck servant call) must not keep a supervisor waiting forever.
void arm_stop_watchdog(int seconds, OservLog& log) {
  std::thread([seconds, &log] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    log.line(fmt::format("^graceful stop did not finish within {} s; exiting now", seconds));
    std::_Exit(kRuntime);
  }).detach();
}

// After a start that recovered from an unclean stop (journal rolled back, a dead owner taken
// over, or another physical host than last time), logs a notice and runs the instance's hook
// programs, <ETCDIR>/failover.d/* in name order, so administrators learn what to check or redo.
void failover_notice(db::Database& db, const ResolvedInstance& inst, OservLog& log,
                     MethodThreads& threads) {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  const std::string current = buf;
  const std::string previous = db.get_meta("last_physical_host").value_or("");
  const auto& r = db.recovery();
  std::vector<std::string> reasons;
  std::string rolled_back;
  for (auto id : r.rolled_back) rolled_back += (rolled_back.empty() ? "" : " ") + db.describe(id);
  if (!r.rolled_back.empty())
    reasons.push_back(fmt::format("{} transaction(s) rolled back", r.rolled_back.size()));
  if (!r.stale_owner.empty())
    reasons.push_back(fmt::format("database taken over from {}", r.stale_owner));
  if (!previous.empty() && previous != current)
    reasons.push_back(fmt::format("physical host changed from {} to {}", previous, current));
  try {
    if (previous != current) db.put_meta("last_physical_host", current);
  } catch (const db::DbError& e) {
    log.line(fmt::format("^cannot record the physical host: {}", e.what()));
  }
  if (reasons.empty()) return;
  std::string why;
  for (const auto& reason : reasons) why += (why.empty() ? "" : "; ") + reason;
  log.line(fmt::format("$failover notice: {}", why));

  const std::string dir = inst.etcdir + "/failover.d";
  std::vector<std::string> hooks;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file() && ::access(entry.path().c_str(), X_OK) == 0)
      hooks.push_back(entry.path().string());
  std::sort(hooks.begin(), hooks.end());
  for (const auto& hook : hooks) {
    MethodThreads::Scope thread(threads, "-", "failover hook " + hook, "run");
    try {
      auto result = run_program({hook},
                                {"OSERV_INSTANCE=" + inst.where.id,
                                 "OSERV_LOGICAL_HOST=" + inst.logical_host,
                                 "OSERV_PREVIOUS_HOST=" + previous, "OSERV_CURRENT_HOST=" + current,
                                 "OSERV_ROLLED_BACK=" + rolled_back,
                                 "OSERV_STALE_OWNER=" + r.stale_owner, "OSERV_REASONS=" + why,
                                 "DBDIR=" + inst.dbdir},
                                thread);
      log.line(fmt::format("failover hook {} exited {}", hook, result.exit_code));
    } catch (const std::runtime_error& e) {
      log.line(fmt::format("^failover hook {}: {}", hook, e.what()));
    }
  }
}

int run(int argc, char** argv) {
  Settings settings = parse_command_line(argc, argv);
  ResolvedInstance inst;
  try {
    inst = load_instance(settings.flags);
  } catch (const ConfigError& e) {
    throw StartError{kConfig, e.what()};
  }
  const std::string& id = inst.where.id;

  // Everything that can fail from here on is reported on the terminal of the command that
  // started us: the parent of detach() waits for ready() or our exit code.
  Daemon daemon;
  if (!settings.foreground) daemon.detach();

  const std::string socket_path = inst.where.socket_path();
  if (socket_path.size() >= sizeof(sockaddr_un::sun_path))
    throw StartError{kConfig, fmt::format("socket path {} is longer than the {} bytes a Unix "
                                          "socket name may have; use a shorter --etc-root",
                                          socket_path, sizeof(sockaddr_un::sun_path) - 1)};
  make_directories(inst.where.run_dir());
  PidFile pid_file(inst.where.pid_path());
  if (pid_file.acquire() == PidFile::Acquire::kHeld) {
    auto pid = PidFile::read_pid(pid_file.path());
    throw StartError{kAlreadyRunning,
                     fmt::format("oserv instance {} is already running (pid {}, pid file {})", id,
                                 pid ? std::to_string(*pid) : "unknown", pid_file.path())};
  }
  pid_file.write_pid();

  std::unique_ptr<db::Database> db;
  try {
    db = db::Database::open(inst.dbdir,
                            {.sync = !settings.nosync,
                             .owner_id = id,
                             .lock_timeout = std::chrono::seconds(settings.lock_timeout),
                             .journal_idle = std::chrono::milliseconds(settings.journal_idle_ms)});
  } catch (const db::DbInUse& e) {
    throw StartError{kAlreadyRunning, e.what()};
  }
  const std::uint32_t region = db->region();
  const std::uint32_t od = db->dispatcher();
  // Durability is the instance's (chosen at oinstall); --nosync overrides it for one run.
  if (!settings.nosync && db->get_meta(db::kMetaDurability) == "nosync") db->set_sync(false);

  OservLog log;
  log.open(inst.dbdir + "/oservlog");
  log.set_mirror_stderr(true);
  const std::string started = OservLog::timestamp();
  log.raw(fmt::format("{}: openoserv ({}-{}) #1 {}\nCopyright openoserv contributors, 2026. MIT "
                      "License.\nTMR {}. ORB {}. TMR server {}:{}. Port {}.\npid {}\n",
                      started, OPENOSERV_VERSION, OPENOSERV_GIT, OPENOSERV_BUILD_DATE, region, od,
                      inst.logical_host, inst.port, inst.port, ::getpid()));

  if (const auto& r = db->recovery(); !r.stale_owner.empty())
    log.line(fmt::format("${}: not closed cleanly by its last owner ({}); taking it over", inst.dbdir,
                         r.stale_owner));
  if (const auto& r = db->recovery(); r.journal_bytes > 0 || r.torn_tail) {
    std::string ids;
    for (auto id : r.rolled_back) ids += (ids.empty() ? "" : " ") + db->describe(id);
    log.line(fmt::format("${}: {} bytes at start; rolled back {} transaction(s){}{}, {} record(s) "
                         "restored{}; odb.log is now empty",
                         inst.dbdir + "/odb.log", r.journal_bytes, r.rolled_back.size(),
                         ids.empty() ? "" : ": ", ids, r.records_restored,
                         r.torn_tail ? "; an incomplete last record (crash mid-write) was ignored"
                                     : ""));
  }

  HostAddress host;
  try {
    host = resolve_logical_host(inst.logical_host, inst.logical_host_source);
  } catch (const ConfigError& e) {
    log.line(fmt::format("!{}", e.what()));
    throw StartError{kAddressUnavailable, e.what()};
  }
  if (!host.local) {
    std::string msg = fmt::format(
        "logical host {} (from {}) is {}, which is not an address of this machine; bring the "
        "service address up here first or set WLOCALHOST to a local name",
        inst.logical_host, inst.logical_host_source, host.ip);
    log.line("!" + msg);
    throw StartError{kAddressUnavailable, msg};
  }
  // The listener is decided by this dispatcher's odlist entry as this database has it.
  const auto local_rec = db->od(od);
  const bool force_bind = settings.force_bind || (local_rec && local_rec->force_bind);
  const std::string listen_ip = force_bind ? host.ip : std::string();
  const std::string where = fmt::format("{}:{}", listen_ip.empty() ? "*" : listen_ip, inst.port);

  // Signals are handled by sigwait() in this thread only; ORB threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  // ORB_init only records the endpoints; they are bound when the POA is created, below, after
  // the port wait. Until then this ORB can already call other dispatchers.
  ::unlink(socket_path.c_str());  // a stale socket of a killed oserv; we hold the instance lock
  const std::string tcp = fmt::format("giop:tcp:{}:{}", listen_ip, inst.port);
  const std::string unix_ep = "giop:unix:" + socket_path;
  const std::string publish = fmt::format("giop:tcp:{}:{}", host.ip, inst.port);
  const char* orb_options[][2] = {{"endPoint", tcp.c_str()},
                                  {"endPoint", unix_ep.c_str()},
                                  {"endPointPublish", publish.c_str()},
                                  {"unixTransportPermission", "600"},
                                  {"clientConnectTimeOutPeriod", "3000"},
                                  // Each call in flight to another dispatcher holds a connection
                                  // (one call per connection); omniORB's default of 5 would make
                                  // a sixth concurrent method call to a node wait for one of the
                                  // first five to finish, which may take --method-timeout.
                                  {"maxGIOPConnectionPerServer", kMaxPeerConnections},
                                  {nullptr, nullptr}};
  int orb_argc = 1;
  char* orb_argv[] = {argv[0], nullptr};
  CORBA::ORB_var orb;
  try {
    orb = CORBA::ORB_init(orb_argc, orb_argv, "omniORB4", orb_options);
  } catch (const CORBA::INITIALIZE&) {
    throw StartError{kRuntime, "the ORB could not be initialised (see the messages above)"};
  }
  Region peers(orb, *db, log, region, od);

  // A managed node takes the current odlist from its TMR server first: an odlist edited there
  // (change_ip, aliases) is what this start must be checked against.
  bool joined = true;
  if (od != 1) {
    joined = peers.report_in(host.ip, inst.port, 5000);
    if (joined)
      log.line(peers.link_state());
    else
      log.line(fmt::format("^{}; starting with this node's copy of the odlist and retrying every "
                           "{} s",
                           peers.link_state(), settings.join_interval));
  }
  check_odlist(*db, od, inst, host.ip, log, argv[0]);
  if (auto rec = db->od(od); rec && rec->force_bind != force_bind && !settings.force_bind)
    log.line(fmt::format("force bind is now {} for dispatcher {}; it takes effect at the next "
                         "start",
                         rec->force_bind ? "TRUE" : "FALSE", od));

  auto waited = wait_for_port(
      listen_ip, inst.port, std::chrono::seconds(settings.bind_wait_interval),
      std::chrono::seconds(settings.bind_timeout),
      [&] { log.line(fmt::format("^port {}: In use. Waiting...", inst.port)); });
  switch (waited.outcome) {
    case BindProbe::kFree:
      break;
    case BindProbe::kInUse:
      log.line(fmt::format("!port {}: still in use after {} s; giving up", inst.port,
                           waited.waited_seconds));
      throw StartError{kAddressUnavailable,
                       fmt::format("port {} ({}) is still in use after {} s (--bind-timeout). "
                                   "Stop the other listener, or give each oserv its own address "
                                   "with 'odadmin set_force_bind TRUE <od>'",
                                   inst.port, where, waited.waited_seconds)};
    case BindProbe::kDenied:
      log.line(fmt::format("!port {}: permission denied", inst.port));
      throw StartError{kAddressUnavailable,
                       fmt::format("binding {} was denied: ports below 1024 need root or "
                                   "CAP_NET_BIND_SERVICE; choose another port with --port",
                                   where)};
    case BindProbe::kAddressNotLocal:
    case BindProbe::kOtherError:
      log.line(fmt::format("!cannot bind {}", where));
      throw StartError{kAddressUnavailable, fmt::format("cannot bind {}", where)};
  }

  DispatcherState state;
  state.instance = inst;
  state.db = db.get();
  state.log = &log;
  state.region = region;
  state.od = od;
  state.listen_ip = listen_ip;
  state.force_bind_active = force_bind;
  state.started = started;
  state.install_dir = install_dir();
  state.peers = &peers;

  PortableServer::POA_var ins_poa;
  try {
    CORBA::Object_var ins_obj = orb->resolve_initial_references("omniINSPOA");
    ins_poa = PortableServer::POA::_narrow(ins_obj);
  } catch (const CORBA::INITIALIZE&) {
    log.line(fmt::format("!cannot open endpoints {} and {}", where, socket_path));
    throw StartError{kAddressUnavailable,
                     fmt::format("the ORB could not open its endpoints ({} and {})", where,
                                 socket_path)};
  }
  MethodThreads method_threads;
  Objects objects(state, method_threads,
                  static_cast<unsigned>(settings.method_timeout) * 1000u);
  DispatcherServant servant(state, objects, method_threads);
  // This dispatcher's ManagedNode object, named at the TMR server (once reachable).
  auto name_managed_node = [&] {
    try {
      objects.ensure_managed_node();
    } catch (const OServ::Failed& e) {
      log.line(fmt::format("^ManagedNode object not registered: {}", e.reason.in()));
    } catch (const db::DbError& e) {
      log.line(fmt::format("^ManagedNode object not registered: {}", e.what()));
    }
  };
  peers.set_on_joined(name_managed_node);
  PortableServer::ObjectId_var key = PortableServer::string_to_ObjectId("Dispatcher");
  ins_poa->activate_object_with_id(key, &servant);
  CORBA::Object_var ref = ins_poa->id_to_reference(key);
  CORBA::String_var ior = orb->object_to_string(ref);
  state.ior = ior.in();
  write_file_atomically(inst.dbdir + "/oserv.ior", state.ior + "\n");
  PortableServer::POAManager_var manager = ins_poa->the_POAManager();
  manager->activate();

  log.line(fmt::format("oserv {} ready: dispatcher {} of region {} on {} ({}), socket {}, "
                       "database {}",
                       id, od, region, where, force_bind ? "force bind" : "all addresses",
                       socket_path, db->sync_mode() ? "sync" : "nosync"));
  if (!settings.foreground) log.set_mirror_stderr(false);
  daemon.ready();
  sd_notify_state("READY=1");
  // A managed node whose TMR server is down still runs (its supervisor sees it up) and joins
  // when the server comes back.
  if (joined) name_managed_node();
  else peers.retry_report_in(host.ip, inst.port, settings.join_interval);
  std::thread notice([&] { failover_notice(*db, inst, log, method_threads); });

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      log.reopen();
      log.line("log reopened (SIGHUP)");
      continue;
    }
    log.line(fmt::format("oserv {} stopping ({})", id, sig == SIGTERM ? "SIGTERM" : "SIGINT"));
    break;
  }
  sd_notify_state("STOPPING=1");
  arm_stop_watchdog(settings.stop_timeout, log);
  peers.stop();
  method_threads.terminate_programs();  // so that calls running them return
  notice.join();
  orb->shutdown(true);
  servant.abort_open_transactions();
  orb->destroy();
  db->sync();
  db.reset();
  ::unlink(socket_path.c_str());
  log.line(fmt::format("oserv {} stopped", id));
  pid_file.remove();
  return kOk;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const StartError& e) {
    std::fprintf(stderr, "oserv: %s\n", e.message.c_str());
    return e.code;
  } catch (const db::DbError& e) {
    std::fprintf(stderr, "oserv: %s\n", e.what());
    return kRuntime;
  } catch (const CORBA::Exception& e) {
    std::fprintf(stderr, "oserv: CORBA exception %s\n", e._name());
    return kRuntime;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "oserv: %s\n", e.what());
    return kRuntime;
  }
}
