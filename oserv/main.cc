// oserv: the openoserv object dispatcher daemon.
//
// Start-up, in order (each step's failure has its own exit code, see Settings.h):
//   resolve the instance -> detach (unless --foreground) -> block signals (before any thread) ->
//   take the pid-file lock -> open the database -> log the banner -> resolve the logical host ->
//   initialise the ORB -> (managed node) report to the TMR server -> check the odlist -> wait
//   for the port -> activate the Dispatcher and the object POA -> report ready.
// Then the main thread waits for signals: TERM/INT stop the oserv, HUP reopens the log.
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>

#include <fmt/core.h>

#include "Authorization.h"
#include "Connections.h"
#include "Console.h"
#include "CorbaPeers.h"
#include "Daemon.h"
#include "Database.h"
#include "CorbaGateways.h"
#include "DispatcherServant.h"
#include "Failure.h"
#include "FailoverNotice.h"
#include "Instance.h"
#include "LocalDispatcher.h"
#include "LogicalHost.h"
#include "ObjectAdapter.h"
#include "OservMetrics.h"
#include "OrbInit.h"
#include "OrbTls.h"
#include "RegionCa.h"
#include "Odlist.h"
#include "OservLog.h"
#include "PidFile.h"
#include "PortWait.h"
#include "Records.h"
#include "Replog.h"
#include "RequestContext.h"
#include "Settings.h"
#include "TextFile.h"
#include "Timeouts.h"
#include "Version.h"
#include "WireConvert.h"

using namespace openoserv;

namespace {

// Concurrent calls to one other dispatcher, each on its own connection, before further calls
// wait for a free one. bench/hop_bench.cc gives its raw servers the same (keep the two equal).
constexpr const char* kMaxPeerConnections = "256";
// Incoming connections served by a thread each, beyond which requests are served by a pool of
// kMaxPeerConnections threads (and below which, again, by a thread each).
constexpr const char* kThreadPerConnectionLimit = "256";
constexpr const char* kThreadPerConnectionResume = "192";
// A new standby reads the primary's copy in pieces of this size (below the 64 MB a message may
// have).
constexpr CORBA::ULong kCopyPiece = 8u << 20;

// Signals are taken by sigwait() in the main thread only; every thread inherits this mask, so
// it is set before the first thread starts (the database's journal purger).
sigset_t block_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  // SIGUSR2: a standby's promotion wakes the main thread to restart it as primary.
  for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return signals;
}

std::string install_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("unknown") : exe.parent_path().string();
}

std::unique_ptr<PidFile> lock_instance(const ResolvedInstance& inst) {
  const std::string socket_path = inst.where.socket_path();
  if (socket_path.size() >= sizeof(sockaddr_un::sun_path))
    throw StartError{kConfig, fmt::format("socket path {} is longer than the {} bytes a Unix "
                                          "socket name may have; use a shorter --etc-root",
                                          socket_path, sizeof(sockaddr_un::sun_path) - 1)};
  make_directories(inst.where.run_dir());
  auto pid_file = std::make_unique<PidFile>(inst.where.pid_path());
  if (pid_file->acquire() == PidFile::Acquire::kHeld) {
    auto pid = PidFile::read_pid(pid_file->path());
    throw StartError{kAlreadyRunning,
                     fmt::format("oserv instance {} is already running (pid {}, pid file {})",
                                 inst.where.id, pid ? std::to_string(*pid) : "unknown",
                                 pid_file->path())};
  }
  pid_file->write_pid();
  return pid_file;
}

std::unique_ptr<db::Database> open_database(const ResolvedInstance& inst, const Settings& s) {
  std::unique_ptr<db::Database> db;
  try {
    db = db::Database::open(inst.dbdir,
                            {.sync = !s.nosync,
                             .owner_id = inst.where.id,
                             .lock_timeout = std::chrono::seconds(s.lock_timeout),
                             .journal_idle = std::chrono::milliseconds(s.journal_idle_ms)});
  } catch (const db::DbInUse& e) {
    throw StartError{kAlreadyRunning, e.what()};
  }
  // Durability is the instance's (chosen at oinstall); --nosync overrides it for one run.
  if (!s.nosync && db->get_meta(db::kMetaDurability) == "nosync") db->set_sync(false);
  return db;
}

// The banner of the seed, then what recovery found.
void start_log(OservLog& log, const ResolvedInstance& inst, db::Database& db,
               const std::string& started) {
  log.open(inst.dbdir + "/oservlog");
  log.set_mirror_stderr(true);
  // The TMR server as this database knows it: this dispatcher, or dispatcher 1 of its odlist.
  std::string tmr = fmt::format("{}:{}", inst.logical_host, inst.port);
  if (db.dispatcher() != kTmrDispatcher || db.get_meta(db::kMetaRole) == std::string("standby")) {
    const auto rec = odlist::find(db, kTmrDispatcher);
    tmr = rec ? fmt::format("{}:{}", rec->label(), rec->port) : "unknown";
  }
  log.raw(fmt::format("{}: openoserv ({}-{}) #1 {}\nCopyright openoserv contributors, 2026. MIT "
                      "License.\nTMR {}. ORB {}. TMR server {}. Port {}.\npid {}\n",
                      started, OPENOSERV_VERSION, OPENOSERV_GIT, OPENOSERV_BUILD_DATE, db.region(),
                      db.dispatcher(), tmr, inst.port, ::getpid()));
  const auto& r = db.recovery();
  if (!r.stale_owner.empty())
    log.line(fmt::format("${}: not closed cleanly by its last owner ({}); taking it over",
                         inst.dbdir, r.stale_owner));
  if (r.journal_bytes > 0 || r.torn_tail) {
    const std::string ids = db.describe(r.rolled_back);
    log.line(fmt::format("${}: {} bytes at start; rolled back {} transaction(s){}{}, {} record(s) "
                         "restored{}; odb.log is now empty",
                         inst.dbdir + "/odb.log", r.journal_bytes, r.rolled_back.size(),
                         ids.empty() ? "" : ": ", ids, r.records_restored,
                         r.torn_tail ? "; an incomplete last record (crash mid-write) was ignored"
                                     : ""));
  }
  if (const auto n = records::upgrade_records(db); n > 0)
    log.line(fmt::format("${}: {} record(s) of an earlier build's text format rewritten in CDR",
                         inst.dbdir, n));
}

// Where this dispatcher is: its logical host's address (which must be local) and what it binds.
DispatcherInfo identify(const ResolvedInstance& inst, db::Database& db, const Settings& s,
                        OservLog& log, const std::string& started) {
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
  DispatcherInfo info{.instance = inst, .region = db.region(), .od = db.dispatcher(),
                      .ip = host.ip, .started = started, .install_dir = install_dir()};
  // The listener is decided by this dispatcher's odlist entry as this database has it.
  const auto rec = odlist::find(db, info.od);
  info.force_bind_active = s.force_bind || (rec && rec->force_bind);
  info.listen_ip = info.force_bind_active ? host.ip : std::string();
  return info;
}

// A certificate close to its end is renewed while the region still takes it.
void warn_of_expiry(const std::string& cert_file, OservLog& log) {
  constexpr long long kWarnDays = 30;
  try {
    const std::string cert = read_text_file(cert_file).value_or("");
    const long long left = tls::expiry_of(cert) - static_cast<long long>(::time(nullptr));
    if (left < kWarnDays * 86400)
      log.line(fmt::format("^{}: this dispatcher's certificate {} on {}; renew it with "
                           "'odadmin renew_cert' (then restart this oserv)",
                           cert_file, left < 0 ? "expired" : "expires", tls::expiry_date(cert)));
  } catch (const std::exception& e) {
    log.line(fmt::format("^{}: {}", cert_file, e.what()));
  }
}

// This dispatcher's TLS files (DBDIR/ssl, see security/RegionCa.h). An instance made before
// identity.pem existed gets it from self.pem, ca.pem and self.key.
TlsFiles dispatcher_tls_files(const ResolvedInstance& inst, OservLog& log) {
  const std::string dir = inst.dbdir + "/ssl";
  const TlsFiles files{.ca = dir + "/ca.pem", .identity = dir + "/identity.pem"};
  namespace fs = std::filesystem;
  try {
    if (!fs::exists(files.identity) && fs::exists(dir + "/self.pem") &&
        fs::exists(dir + "/self.key") && fs::exists(files.ca)) {
      tls::write_private(files.identity,
                         tls::identity_bundle({.key_pem = *read_text_file(dir + "/self.key"),
                                               .cert_pem = *read_text_file(dir + "/self.pem")},
                                              *read_text_file(files.ca)));
      log.line(fmt::format("{}: made from self.pem, ca.pem and self.key", files.identity));
    }
  } catch (const std::exception& e) {
    throw StartError{kConfig, fmt::format("{}: {}", files.identity, e.what())};
  }
  for (const auto& f : {files.ca, files.identity})
    if (::access(f.c_str(), R_OK) != 0) {
      std::string msg = fmt::format(
          "{}: {}; this dispatcher has no region certificate, and every connection to an oserv "
          "is TLS. A managed node gets one when it joins (oinstall --managed-node --token); "
          "restore DBDIR/ssl from a backup of this instance",
          f, std::strerror(errno));
      log.line("!" + msg);
      throw StartError{kConfig, msg};
    }
  warn_of_expiry(dir + "/self.pem", log);
  return files;
}

// ORB_init only records the endpoints; they are bound when the POA is created, after the port
// wait. Until then this ORB can already call other dispatchers.
CORBA::ORB_var start_orb(const DispatcherInfo& info, const Settings& s, const TlsFiles& tls,
                         char* argv0) {
  const std::string socket_path = info.instance.where.socket_path();
  ::unlink(socket_path.c_str());  // a stale socket of a killed oserv; we hold the instance lock
  // The port speaks TLS only (omniORB's SSL transport): a peer proves it is a dispatcher of the
  // region, or an administrator, with a certificate of the region's CA.
  const std::string tls_ep = fmt::format("giop:ssl:{}:{}", info.listen_ip, info.instance.port);
  const std::string unix_ep = "giop:unix:" + socket_path;
  const std::string publish = fmt::format("giop:ssl:{}:{}", info.ip, info.instance.port);
  OrbOptions options = {
      {"endPoint", tls_ep},
      {"endPoint", unix_ep},
      {"endPointPublish", publish},
      // Any local user may connect: the kernel tells the oserv who it is (SO_PEERCRED) and the
      // access check decides what it may do (root: everything; others: their administrator's
      // roles, or only ping and whoami).
      {"unixTransportPermission", "666"},
      {"clientConnectTimeOutPeriod", std::to_string(timeouts::kConnect.count())},
      // Every call to another dispatcher has a timeout of its own; this bounds any other.
      {"clientCallTimeOutPeriod", std::to_string(s.method_timeout * 1000)},
      // Each call in flight to another dispatcher holds a connection (one call per
      // connection); omniORB's default of 5 would make a sixth concurrent method call to a node
      // wait for one of the first five to finish, which may take --method-timeout.
      {"maxGIOPConnectionPerServer", kMaxPeerConnections},
      // A thread per incoming connection up to a point, then a pool serving requests as they
      // come: idle connections (2,000 of them) then cost no thread each.
      {"threadPerConnectionUpperLimit", kThreadPerConnectionLimit},
      {"threadPerConnectionLowerLimit", kThreadPerConnectionResume},
      {"maxServerThreadPoolSize", kMaxPeerConnections},
      // An idle connection is closed after the timeout (and one whose request does not arrive
      // whole within it: the request interceptor's deadline).
      {"inConScanPeriod", std::to_string(s.idle_connection_timeout)},
      {"scanGranularity", "1"}};
  for (auto& option : tls_options(tls)) options.push_back(std::move(option));
  try {
    CORBA::ORB_var orb = init_orb(argv0, options);
    install_request_interceptor(std::chrono::seconds(s.idle_connection_timeout));
    return orb;
  } catch (const CORBA::INITIALIZE&) {
    throw StartError{kRuntime, "the ORB could not be initialised (see the messages above)"};
  }
}

// Checks the logical host against this dispatcher's odlist entry. A different address means the
// database belongs to another host (or WLOCALHOST is not set as at install time): starting would
// publish this dispatcher under the wrong address, so refuse, as Tivoli did.
void check_odlist(db::Database& db, const DispatcherInfo& info, OservLog& log, const char* argv0) {
  auto rec = odlist::find(db, info.od);
  if (!rec) {
    log.line(fmt::format("!{}: odlist init failed. requested resource not found. (30)", argv0));
    throw StartError{kConfig, fmt::format("dispatcher {} has no odlist entry in {}", info.od,
                                          info.instance.dbdir)};
  }
  const auto& inst = info.instance;
  if (rec->ip != info.ip) {
    log.line(fmt::format("$Database mismatch (from {}/{})", inst.logical_host, info.ip));
    log.line(fmt::format("!{}: odlist init failed. internal resource corrupted. (54)", argv0));
    throw StartError{
        kConfig,
        fmt::format("dispatcher {} is recorded in the odlist as {} ({}), but this start uses "
                    "logical host {} ({}, from {}). Set WLOCALHOST (or --hostname) to {} as at "
                    "install time, or correct the odlist entry: with this oserv stopped, "
                    "'odadmin --id {} --offline odlist change_ip {} {}'{}.",
                    info.od, rec->label(), rec->ip, inst.logical_host, info.ip,
                    inst.logical_host_source, rec->label(), info.id(), info.od, info.ip,
                    info.od == kTmrDispatcher ? "" : " (and the same at the TMR server)")};
  }
  if (rec->port != inst.port) {
    log.line(fmt::format("odlist: dispatcher {} port changed from {} to {}", info.od, rec->port,
                         inst.port));
    auto txn = db.begin(nullptr, "port change");
    odlist::lock(*txn);
    rec->port = inst.port;
    odlist::put(*txn, *rec);
    txn->commit();
  }
}

// A managed node takes the current odlist from its TMR server first: an odlist edited there
// (change_ip, aliases) is what this start must be checked against. Returns whether it joined.
bool join_region(LocalDispatcher& local, const Settings& s, const char* argv0) {
  bool joined = true;
  if (local.info.od != kTmrDispatcher) {
    joined = local.region.report_in(timeouts::kReportIn);
    if (joined)
      local.log.line(local.region.link_state());
    else
      local.log.line(fmt::format("^{}; starting with this node's copy of the odlist and retrying "
                                 "every {} s",
                                 local.region.link_state(), s.join_interval));
  }
  check_odlist(local.db, local.info, local.log, argv0);
  return joined;
}

// Whether the odlist a managed node just took from its TMR server wants another listener than
// the one its ORB was set up with from the node's own copy: force bind was set or cleared while
// the node was down. Nothing is bound yet, so the start can still follow it.
bool listener_changed(const LocalDispatcher& local, const Settings& s) {
  const auto rec = odlist::find(local.db, local.info.od);
  if (!rec || s.force_bind || rec->force_bind == local.info.force_bind_active) return false;
  local.log.line(fmt::format("force bind is {} for dispatcher {} in the TMR server's odlist "
                             "(changed while this node was down); following it",
                             rec->force_bind ? "TRUE" : "FALSE", local.info.od));
  return true;
}

// A stop (SIGTERM, SIGINT) that arrived before the oserv was ready: it ends the start cleanly.
struct StoppedBeforeReady {
  int signal;
};

const char* signal_name(int sig) { return sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "SIGHUP"; }

// Reopens the log after rotation; a log that cannot be reopened keeps the old file.
void reopen_log(OservLog& log) {
  try {
    log.reopen();
    log.line("log reopened (SIGHUP)");
  } catch (const std::exception& e) {
    log.line(fmt::format("^log not reopened ({}); still writing to the previous file", e.what()));
  }
}

// Waits up to `d` for a signal of `signals`: HUP reopens the log; TERM/INT return their number.
// Returns 0 when `d` passed without a stop.
int wait_for_signal(const sigset_t& signals, std::chrono::milliseconds d, OservLog& log) {
  const auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    timespec ts{static_cast<time_t>(left.count() / 1000000000), static_cast<long>(left.count() % 1000000000)};
    const int sig = sigtimedwait(&signals, nullptr, &ts);
    // SIGUSR2 wakes the main thread for a change of role (promotion, demotion, switchover); one
    // left over from the previous run (a refusal for the old epoch, say) is no stop.
    if (sig == SIGHUP) reopen_log(log);
    else if (sig > 0 && sig != SIGUSR2) return sig;
  }
}

void wait_for_port_or_fail(const DispatcherInfo& info, const Settings& s, const sigset_t& signals,
                           OservLog& log) {
  const auto port = info.instance.port;
  const std::string where = info.listening();
  int stop = 0;
  auto waited = wait_for_port(
      info.listen_ip, port, std::chrono::seconds(s.bind_wait_interval),
      std::chrono::seconds(s.bind_timeout),
      [&] { log.line(fmt::format("^port {}: In use. Waiting...", port)); },
      [&](std::chrono::milliseconds d) { return (stop = wait_for_signal(signals, d, log)) == 0; });
  if (waited.stopped) throw StoppedBeforeReady{stop};
  switch (waited.outcome) {
    case BindProbe::kFree:
      return;
    case BindProbe::kInUse:
      log.line(fmt::format("!port {}: still in use after {} s; giving up", port,
                           waited.waited_seconds));
      throw StartError{kAddressUnavailable,
                       fmt::format("port {} ({}) is still in use after {} s (--bind-timeout). "
                                   "Stop the other listener, or give each oserv its own address "
                                   "with 'odadmin set_force_bind TRUE <od>'",
                                   port, where, waited.waited_seconds)};
    case BindProbe::kDenied:
      log.line(fmt::format("!port {}: permission denied", port));
      throw StartError{kAddressUnavailable,
                       fmt::format("binding {} was denied: ports below 1024 need root or "
                                   "CAP_NET_BIND_SERVICE; choose another port with --port",
                                   where)};
    case BindProbe::kAddressNotLocal:
    case BindProbe::kOtherError:
      log.line(fmt::format("!cannot bind {}", where));
      throw StartError{kAddressUnavailable, fmt::format("cannot bind {}", where)};
  }
}

// What the ORB serves: the Dispatcher under its fixed key and every object through the object
// POA. Binding the endpoints happens here (creating the RootPOA).
struct Endpoints {
  std::unique_ptr<ObjectAdapter> objects;
  std::unique_ptr<DispatcherServant> dispatcher;
};

Endpoints activate(CORBA::ORB_ptr orb, LocalDispatcher& local, CorbaPeers& peers,
                   const Settings& s) {
  const auto& info = local.info;
  PortableServer::POA_var root, ins;
  try {
    CORBA::Object_var obj = orb->resolve_initial_references("RootPOA");
    root = PortableServer::POA::_narrow(obj);
    obj = orb->resolve_initial_references("omniINSPOA");
    ins = PortableServer::POA::_narrow(obj);
  } catch (const CORBA::INITIALIZE&) {
    local.log.line(fmt::format("!cannot open endpoints {} and {}", info.listening(),
                               info.instance.where.socket_path()));
    throw StartError{kAddressUnavailable,
                     fmt::format("the ORB could not open its endpoints ({} and {})",
                                 info.listening(), info.instance.where.socket_path())};
  }
  Endpoints e;
  e.objects = std::make_unique<ObjectAdapter>(orb, root, local, s.remote_calls);
  e.dispatcher = std::make_unique<DispatcherServant>(local, *e.objects, peers);
  PortableServer::ObjectId_var key = PortableServer::string_to_ObjectId("Dispatcher");
  ins->activate_object_with_id(key, e.dispatcher.get());
  CORBA::Object_var ref = ins->id_to_reference(key);
  CORBA::String_var ior = orb->object_to_string(ref);
  e.dispatcher->set_ior(ior.in());
  write_file_atomically(info.instance.dbdir + "/oserv.ior", std::string(ior.in()) + "\n");
  PortableServer::POAManager_var manager = ins->the_POAManager();
  manager->activate();
  manager = root->the_POAManager();
  manager->activate();
  const auto timeout = std::chrono::seconds(s.idle_connection_timeout);
  if (limit_unacknowledged_data(info.instance.port, timeout) == 0)
    local.log.line(fmt::format("^no listening socket on port {} found to give a {} s TCP user "
                               "timeout: a peer that stops reading its replies holds a thread",
                               info.instance.port, timeout.count()));
  return e;
}

// This dispatcher's ManagedNode object, named at the TMR server (once reachable).
// A managed node that has joined: its ManagedNode object is named at the TMR server, and it
// takes the administrators (changed while it was away, perhaps).
void name_managed_node(LocalDispatcher& local) {
  // Each is retried at the next join; a failure is logged, never fatal.
  auto attempt = [&](const char* what, auto&& f) {
    try {
      f();
    } catch (const Failure& e) {
      local.log.line(fmt::format("^{}: {}", what, e.what()));
    } catch (const db::DbError& e) {
      local.log.line(fmt::format("^{}: {}", what, e.what()));
    }
  };
  attempt("ManagedNode object not registered", [&] { local.objects.ensure_managed_node(); });
  attempt("administrators not refreshed", [&] { local.administrators.refresh(); });
}

// Until a stop signal (returned), or SIGUSR2 when `woken` says it was meant (a standby's
// promotion; any other SIGUSR2 is ignored).
int wait_for_stop(const sigset_t& signals, OservLog& log, const std::string& id,
                  const std::function<bool()>& woken = {}) {
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      reopen_log(log);
      continue;
    }
    if (sig == SIGUSR2) {
      if (woken && woken()) return sig;
      continue;
    }
    log.line(fmt::format("oserv {} stopping ({})", id, signal_name(sig)));
    return sig;
  }
}

// A stop that hangs (a stuck servant call) must not keep a supervisor waiting forever: past its
// deadline the process exits at once. A stop that finishes in time disarms and joins it.
class StopWatchdog {
 public:
  StopWatchdog(int seconds, OservLog& log)
      : thread_([this, seconds, &log] {
          std::unique_lock lock(mu_);
          if (disarmed_.wait_for(lock, std::chrono::seconds(seconds), [this] { return done_; }))
            return;
          log.line(fmt::format("^graceful stop did not finish within {} s; exiting now", seconds));
          std::_Exit(kRuntime);
        }) {}
  ~StopWatchdog() {
    {
      std::lock_guard guard(mu_);
      done_ = true;
    }
    disarmed_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable disarmed_;
  bool done_ = false;
  std::thread thread_;  // last: it uses the members above
};

// What start-up has set up before the dispatcher runs: the instance, its lock, its database and
// its log. They outlive everything serve() builds on them.
struct Process {
  Settings settings;
  ResolvedInstance inst;
  Daemon daemon;
  sigset_t signals{};
  std::unique_ptr<PidFile> pid_file;
  std::unique_ptr<db::Database> db;
  OservLog log;
  OservLog audit;  // DBDIR/audit.log: refusals, and calls that change state or run programs
  std::string started;
  std::optional<StopWatchdog> watchdog;  // armed once a stop begins
  bool promoted = false;  // a standby promoted in this process: tell the region at the start
  std::optional<OdRecord> handed_over_to;  // the standby a planned switchover hands over to
  std::uint64_t handed_over_at = 0;        // and the last transaction it must have first
  std::unique_ptr<OservMetrics> metrics;   // --metrics: for the process's life, every run
  std::unique_ptr<Console> console;        // --console: likewise
};

// The audit log is the administrators' record of who did what: readable by root only.
void open_audit_log(Process& p) {
  const std::string path = p.inst.dbdir + "/audit.log";
  try {
    p.audit.open(path);
    ::chmod(path.c_str(), 0600);
  } catch (const std::exception& e) {
    throw StartError{kRuntime, e.what()};
  }
  p.audit.set_mirror_stderr(false);
  p.log.set_companion(&p.audit);
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

// What a standby TMR server serves: its own life cycle and state, and its copy of the odlist.
// Changes, lookups and the region's business are the primary's until this standby is promoted.
bool standby_serves(std::string_view operation) {
  static constexpr std::string_view kServed[] = {
      "ping",   "status", "health", "db_sync",        "shutdown",      "ior",
      "whoami", "odlist", "tmstat", "method_user", "log_tail",    "replication_status", "promote", "rejoin", "request_vote",
      "_is_a",  "_non_existent",    "_interface",     "_repository_id", "_component"};
  return std::find(std::begin(kServed), std::end(kServed), operation) != std::end(kServed);
}

// What a standby neither serves nor passes on: operations on the oserv they reach (its role,
// its method user, its certificate, whether it takes client certificates), which would act on
// the primary instead, and the replication protocol's own calls.
bool about_this_oserv(std::string_view operation) {
  static constexpr std::string_view kOwn[] = {"demote", "set_method_user",
                                              "renew_own_certificate", "set_allow_rconnect"};
  if (std::find(std::begin(kOwn), std::end(kOwn), operation) != std::end(kOwn)) return true;
  const OperationRule* rule = rule_for(operation);
  return rule && rule->need == Need::kStandby;
}

// Where a standby passes what it does not serve: its primary ("IP:PORT"), while the primary
// answers this standby's fetches (nullopt otherwise: the caller is told at once, not left to
// wait on a primary that is gone).
struct StandbyForward {
  CORBA::ORB_ptr orb;
  std::function<std::optional<std::string>()> primary;
};

// Whether the caller of `r` can follow a forward with credentials of its own: a TLS caller
// shows its certificate to the primary as it did here; on the Unix socket only root's tools
// (and the oserv's own user's) can, with the instance's certificate. Others are refused here.
bool can_follow(RequestContext& r, Authorization& authorization) {
  if (!r.on_unix_socket()) return true;
  if (r.principal.name.empty()) r.principal = authorization.principal_of(r);
  return r.principal.kind == Principal::Kind::kLocal && r.principal.admin == "root";
}

// A standby (forward set) refuses what it does not serve, or passes it to its primary.
void install_access_check(Authorization& authorization, EpochFence& fence,
                          const StandbyForward* forward) {
  set_access_check(
      [&authorization, &fence, forward](RequestContext& r) {
        authorization.check(r);
        // Dispatcher 1's orders carry its epoch; a replaced TMR server's are refused. Standbys
        // (dispatcher-1 certificates too) fetch without one. Once the region has had a
        // promotion, even what anyone may call (ping, which check() lets through unidentified)
        // is identified over TLS: a replaced TMR server's sweep learns it from the refusal.
        if (fence.known() >= 2 && !r.on_unix_socket() && r.principal.name.empty())
          r.principal = authorization.principal_of(r);
        const Principal& who = r.principal;
        if (who.kind == Principal::Kind::kDispatcher && who.od == kTmrDispatcher &&
            !r.on_unix_socket()) {
          // A replaced one may still read the odlist, to find the primary that replaced it.
          const OperationRule* rule = rule_for(r.operation);
          if (r.operation != "odlist" && (!rule || rule->need != Need::kStandby))
            if (auto why = fence.admit(r.caller_epoch)) {
              authorization.refused(r, *why);
              throw CORBA::NO_PERMISSION(kStaleEpochRefusal, CORBA::COMPLETED_NO);
            }
        }
        if (!forward || standby_serves(r.operation)) return;
        if (!about_this_oserv(r.operation) && can_follow(r, authorization))
          if (auto to = forward->primary()) {
            authorization.forwarded(r, *to);
            forward_request(forward->orb, r, *to);
          }
        authorization.refused(r, fmt::format("{}: this oserv is a standby TMR server; its "
                                             "primary serves that",
                                             r.operation));
        throw CORBA::NO_PERMISSION(kStandbyRefusal, CORBA::COMPLETED_NO);
      },
      {.refused = [&authorization](const RequestContext& r,
                                   const std::string& why) { authorization.refused(r, why); },
       .invoked = [&authorization](const RequestContext& r, const std::string& oid,
                                   const std::string& method) {
         authorization.invoked(r, oid, method);
       }});
}

// What a run installed for the ORB's request threads refers to that run's objects: gone with
// it (a request arriving at the next run must not reach them).
void clear_request_hooks() {
  set_access_check({});
  set_request_guard({});
}

// A run that ends before its endpoints were bound: its background work stopped, its ORB gone.
void end_before_ready(LocalDispatcher& local, CORBA::ORB_ptr orb) {
  local.stop();
  orb->destroy();
  clear_request_hooks();
}

// Waits for the port (wait_for_port_or_fail), then binds the endpoints; a stop meanwhile ends
// the run's background work and its ORB first.
Endpoints open_endpoints(Process& p, const Settings& settings, LocalDispatcher& local,
                         CORBA::ORB_ptr orb, CorbaPeers& peers) {
  try {
    wait_for_port_or_fail(local.info, settings, p.signals, p.log);
  } catch (const StoppedBeforeReady&) {
    end_before_ready(local, orb);
    throw;
  }
  return activate(orb, local, peers, settings);
}

// How one run of the dispatcher ended: serve() decides what runs next in this process.
enum class Served {
  kStopped,          // a stop signal
  kListenerChanged,  // before anything was bound: the TMR server's odlist wants another listener
  kPromoted,         // a standby became the primary
  kRejoin,           // a demoted TMR server (or a standby) copies the primary's database anew
  kDemoted,          // a primary learned that the region has a newer one
  kHandedOver,       // a primary handed over to a standby (planned switchover)
};

void announce_ready(Process& p, const DispatcherInfo& info) {
  p.log.line(fmt::format("oserv {} ready: dispatcher {} of region {} on {} ({}), socket {}, "
                         "database {}",
                         info.id(), info.od, info.region, info.listening(),
                         info.force_bind_active ? "force bind" : "all addresses",
                         p.inst.where.socket_path(), p.db->sync_mode() ? "sync" : "nosync"));
  if (!p.settings.foreground) p.log.set_mirror_stderr(false);
  p.daemon.ready();
  sd_notify_state("READY=1");
}

// The dispatcher at "ip:port" (one that the odlist may not name), calls bounded by `timeout`.
OServ::Dispatcher_ptr dispatcher_at(CORBA::ORB_ptr orb, const std::string& address,
                                    std::chrono::milliseconds timeout) {
  CORBA::Object_var obj = orb->string_to_object(corbaloc_url(address, "Dispatcher").c_str());
  OServ::Dispatcher_var d = OServ::Dispatcher::_unchecked_narrow(obj);
  omniORB::setClientCallTimeout(d, static_cast<CORBA::ULong>(timeout.count()));
  return d._retn();
}

// A standby standing for automatic promotion asks member `m` for its vote (Election.h), with
// its dispatcher-1 certificate.
Ballot ask_vote(CORBA::ORB_ptr orb, const Member& m, const Candidacy& c) {
  try {
    OServ::Dispatcher_var d = dispatcher_at(orb, m.address, timeouts::kPush);
    CORBA::String_var why;
    const bool granted = d->request_vote(c.epoch, c.candidate.c_str(), c.seq, why.out());
    return {granted, why.in()};
  } catch (const OServ::Failed& e) {
    return {false, e.reason.in()};
  } catch (const CORBA::Exception& e) {
    return {false, fmt::format("does not answer ({})", e._name())};
  }
}

// Dispatcher 1 as the odlist of dispatcher `d` has it.
OdRecord tmr_named_by(OServ::Dispatcher_ptr d) {
  OServ::OdEntries_var list = d->odlist();
  for (const auto& r : wire::odlist(list.in()))
    if (r.od == kTmrDispatcher) return r;
  fail("its odlist has no dispatcher 1");
  return OdRecord{};
}

// This server demotes itself under `primary` (reached as `d`): it asks where their histories
// split (the epoch's start there, then the checksums below it), and domain demote reports what
// it committed alone and moves dispatcher 1 there.
void demote_to(Process& p, OServ::Dispatcher_ptr d, const OdRecord& primary) {
  CORBA::ULongLong newest = 0;
  const CORBA::ULongLong split = d->epoch_after(EpochFence(*p.db, p.log).known(), newest);
  const auto differs = first_difference(*p.db, split, [&](std::uint64_t from, std::uint32_t count) {
    OServ::ULongList_var crcs = d->replica_checksums(from, count);
    return std::vector<std::uint32_t>(crcs->get_buffer(), crcs->get_buffer() + crcs->length());
  });
  demote(*p.db, p.log, primary, newest, split, differs);
}

// A demoted TMR server told where the primary is now ("ip:port": promoted by a cluster manager
// after this one stepped down, so its odlist does not know it). That oserv must be the primary
// by its own odlist; what this one committed since their histories split goes to a divergence
// report (domain demote), and dispatcher 1's entry here is moved to it.
void adopt_primary(Process& p, CORBA::ORB_ptr orb, const std::string& address) {
  try {
    OServ::Dispatcher_var d = dispatcher_at(orb, address, timeouts::kTmrCall);
    const OdRecord primary = tmr_named_by(d);
    if (primary.address() != address)
      fail(fmt::format("the oserv at {} is not the primary: its odlist names {} ({}:{})", address,
                       primary.label(), primary.ip, primary.port));
    demote_to(p, d, primary);
  } catch (const OServ::Failed& e) {
    fail(fmt::format("the oserv at {} refuses: {}", address, e.reason.in()));
  } catch (const CORBA::Exception& e) {
    fail(fmt::format("no oserv answers at {} ({})", address, e._name()));
  }
}

// A primary refused by dispatcher `od` for its epoch: it asks that node where dispatcher 1 is
// now, asks that primary where their histories split, and demotes itself (domain demote: the
// divergence report, role "demoted"). A failure leaves it as it was, logged.
void demote_self(Process& p, CORBA::ORB_ptr orb, CorbaPeers& peers, std::uint32_t od) {
  try {
    const OdRecord primary = peers.call(od, timeouts::kTmrCall, tmr_named_by);
    OServ::Dispatcher_var d =
        dispatcher_at(orb, primary.address(), timeouts::kTmrCall);
    demote_to(p, d, primary);
  } catch (const CORBA::Exception& e) {
    p.log.line(fmt::format("!refused for an older epoch, but the new primary could not be asked "
                           "({}); still acting as TMR server",
                           e._name()));
  } catch (const std::exception& e) {
    p.log.line(fmt::format("!refused for an older epoch, but not demoted: {}", e.what()));
  }
}

// Sets `refused_by` to the first dispatcher (a gateway's node) that refuses this oserv's
// epoch, and wakes the main thread (SIGUSR2).
void watch_for_refusals(std::atomic<std::uint32_t>& refused_by, CorbaPeers& peers,
                        CorbaGateways& gateways) {
  const auto on_stale = [&refused_by](std::uint32_t od) {
    std::uint32_t none = 0;
    if (refused_by.compare_exchange_strong(none, od)) ::kill(::getpid(), SIGUSR2);
  };
  peers.set_on_stale_epoch(on_stale);
  gateways.set_on_stale_epoch(on_stale);
}

// Until a stop signal (kStopped), a planned switchover (kHandedOver: `handing_over` set), or a
// refusal for an older epoch that demoted this oserv (kDemoted). A demotion that fails is
// logged, and the next refusal tries again.
Served wait_or_demote(Process& p, CORBA::ORB_ptr orb, CorbaPeers& peers,
                      std::atomic<std::uint32_t>& refused_by, const std::atomic<bool>& handing_over,
                      const std::string& id) {
  const auto woken = [&] { return refused_by.load() != 0 || handing_over.load(); };
  while (wait_for_stop(p.signals, p.log, id, woken) == SIGUSR2) {
    if (handing_over) return Served::kHandedOver;
    demote_self(p, orb, peers, refused_by.load());
    if (p.db->get_meta(db::kMetaRole) == std::string("demoted")) return Served::kDemoted;
    refused_by = 0;
  }
  return Served::kStopped;
}

// A planned switchover, at the primary: commits are refused from now on; once those under way
// are done, the last transaction is what the standby must have before it is promoted, and this
// oserv restarts as its standby (serve: become_standby_of).
std::uint64_t hand_over(Process& p, std::atomic<bool>& claimed, std::atomic<bool>& handing_over,
                        const std::string& host, const std::string& ip, std::uint16_t port) {
  if (claimed.exchange(true)) fail("this TMR server is handing over already");
  const std::uint64_t last = p.db->freeze(fmt::format(
      "this TMR server is handing over to the standby {} ({}:{}) (a planned switchover): the "
      "commit was not made; make it there",
      host, ip, port));
  p.handed_over_to = OdRecord{.od = kTmrDispatcher, .port = port, .ip = ip, .hostnames = {host},
                              .force_bind = true};
  p.handed_over_at = last;
  p.log.line(fmt::format("handing over to the standby {} ({}:{}) at transaction {}: commits are "
                         "refused from now on, and this oserv becomes its standby",
                         host, ip, port, last));
  handing_over = true;  // after handed_over_to is set: the main thread reads it then
  ::kill(::getpid(), SIGUSR2);
  return last;
}

// A step-down (odadmin demote, a cluster manager's demote), at the primary: commits are refused
// from now on; once those under way are done and the standbys have them, this oserv restarts as
// a demoted TMR server (serve: become_demoted), which follows nobody until 'odadmin rejoin
// HOST:PORT' names the primary promoted meanwhile.
std::string step_down(Process& p, std::atomic<bool>& claimed, std::atomic<bool>& handing_over) {
  if (claimed.exchange(true)) fail("this TMR server is handing over or stepping down already");
  const std::uint64_t last = p.db->freeze(
      "this TMR server is stepping down (odadmin demote): the commit was not made; make it at the "
      "primary that replaces it");
  p.handed_over_to.reset();
  p.handed_over_at = last;
  p.log.line(fmt::format("stepping down at transaction {} (odadmin demote): commits are refused "
                         "from now on, and this oserv becomes a demoted TMR server",
                         last));
  handing_over = true;
  ::kill(::getpid(), SIGUSR2);
  return fmt::format("Stepping down at transaction {}: commits are refused from now on; once the "
                     "standbys have them, this oserv restarts as a demoted TMR server. 'odadmin "
                     "rejoin HOST:PORT' makes it a standby of the primary promoted meanwhile.",
                     last);
}

// Before a primary that hands over or steps down stops serving as one: every standby (the one
// it hands over to, or each, at a step-down) has its last transaction, or was waited for long
// enough (logged).
void let_standbys_catch_up(Process& p, LocalDispatcher& local) {
  std::vector<std::string> names;
  if (p.handed_over_to)
    names.push_back(p.handed_over_to->address());
  else
    for (const auto& standby : standbys_in(*p.db)) names.push_back(standby.first);
  for (const auto& name : names)
    if (!local.replication.wait_acked(name, p.handed_over_at, timeouts::kSwitchoverCatchUp))
      p.log.line(fmt::format(
          "^the standby {} did not confirm transaction {} within {} s; going on without it", name,
          p.handed_over_at,
          std::chrono::duration_cast<std::chrono::seconds>(timeouts::kSwitchoverCatchUp).count()));
}

// After a step-down: the database says why this server is demoted; it is no longer logged (the
// primary that replaces it goes on from its own log).
void become_demoted(Process& p) {
  const std::uint64_t epoch = EpochFence(*p.db, p.log).known();
  p.db->set_replog(false, epoch);
  p.db->thaw();
  auto t = p.db->begin(nullptr, "demote");
  t->put(db::Table::kMeta, db::kMetaRole, "demoted");
  t->put(db::Table::kMeta, db::kMetaDemoted,
         fmt::format("stepped down at epoch {}, transaction {} (odadmin demote); 'odadmin rejoin "
                     "HOST:PORT' makes it a standby of the primary promoted meanwhile",
                     epoch, p.handed_over_at));
  t->commit();
}

// After a planned switchover: this database is the new primary's up to where it handed over,
// so it follows from there without a copy. Its role and dispatcher 1's address change unlogged
// (the log stops here; the new primary's records go on from the next number).
void become_standby_of(Process& p) {
  p.db->set_replog(false, EpochFence(*p.db, p.log).known());
  p.db->thaw();
  auto t = p.db->begin(nullptr, "switchover");
  t->put(db::Table::kMeta, db::kMetaRole, "standby");
  odlist::lock(*t);
  odlist::put(*t, *p.handed_over_to);
  t->commit();
  p.handed_over_to.reset();
}

// What a primary's or a node's domain calls back into: the gateways, its own stop, naming the
// node once joined, the odlist check of each incoming request's address, following a TMR server
// that moved, and the epoch its calls carry (a TMR server's, once it has had a standby; before
// that no context at all).
void hook_up(LocalDispatcher& local, CorbaGateways& gateway_calls, EpochFence& fence) {
  local.endpoint_manager.set_gateway_calls(&gateway_calls);
  local.region.set_stop_self([] { ::kill(::getpid(), SIGTERM); });
  local.region.set_on_joined([&local] { name_managed_node(local); });
  set_request_guard([&local](const std::string& ip, std::uint16_t port) {
    return local.region.dispatcher_at(ip, port);
  });
  set_outgoing_epoch(local.info.od == kTmrDispatcher ? fence.known() : 0);
  local.replication.set_on_epoch([](std::uint64_t epoch) { set_outgoing_epoch(epoch); });
  local.region.set_on_tmr_moved([&local, &gateway_calls, &fence](const std::string& address) {
    local.gateway_host.follow_tmr(gateway_calls, address, fence.known());
  });
}

// One run of the dispatcher, until a stop signal, or a demotion (see Served).
Served serve_once(Process& p, char* argv0) {
  const Settings& settings = p.settings;
  const DispatcherInfo info = identify(p.inst, *p.db, settings, p.log, p.started);
  const TlsFiles tls = dispatcher_tls_files(p.inst, p.log);
  on_tls_refusal([&audit = p.audit](const std::string& line) { audit.line(line); });
  CORBA::ORB_var orb = start_orb(info, settings, tls, argv0);
  CorbaPeers peers(orb, *p.db);
  CorbaGateways gateway_calls(orb);
  LocalDispatcher local(info, *p.db, p.log, peers, std::chrono::seconds(settings.method_timeout),
                        std::chrono::seconds(settings.transaction_lease));
  const MetricsAttachment metrics(p.metrics.get(), local);
  for (const auto& line : local.programs.end_leftovers()) p.log.line("^" + line);
  if (info.od == kTmrDispatcher) local.replication.start();
  // The first dispatcher or gateway that refuses this TMR server's epoch wakes the main thread.
  std::atomic<std::uint32_t> refused_by{0};
  watch_for_refusals(refused_by, peers, gateway_calls);
  std::atomic<bool> switchover_claimed{false}, handing_over{false};
  if (info.od == kTmrDispatcher)
    local.switchover = [&](const std::string& host, const std::string& ip, std::uint16_t port) {
      return hand_over(p, switchover_claimed, handing_over, host, ip, port);
    };
  if (info.od == kTmrDispatcher)
    local.step_down = [&] { return step_down(p, switchover_claimed, handing_over); };
  Authorization authorization(local.administrators, p.log, p.audit, host_name(), info.region);
  EpochFence fence(*p.db, p.log);
  install_access_check(authorization, fence, nullptr);
  hook_up(local, gateway_calls, fence);
  const bool joined = join_region(local, settings, argv0);
  if (listener_changed(local, settings)) {
    end_before_ready(local, orb);
    return Served::kListenerChanged;
  }
  Endpoints endpoints = open_endpoints(p, settings, local, orb, peers);
  ConsoleAttachment console(p.console.get(), {peers, authorization, *p.db, info.region});
  announce_ready(p, info);
  // A managed node whose TMR server is down still runs (its supervisor sees it up) and joins
  // when the server comes back.
  if (joined) name_managed_node(local);
  if (p.promoted) {
    // The region learns of the new epoch and where dispatcher 1 is now.
    p.log.line(fmt::format("TMR server of epoch {}: telling every dispatcher", fence.known()));
    local.region.push_odlist();
  }
  local.region.keep_link(std::chrono::seconds(settings.join_interval));
  local.gateway_host.start_all();
  local.endpoint_manager.start();
  std::thread notice([&] { failover_notice(*p.db, info, p.log, local.threads, local.programs); });

  const Served ended = wait_or_demote(p, orb, peers, refused_by, handing_over, info.id());
  if (ended == Served::kHandedOver) let_standbys_catch_up(p, local);
  if (ended == Served::kStopped) {
    sd_notify_state("STOPPING=1");
    p.watchdog.emplace(settings.stop_timeout, p.log);
  }
  console.end();
  local.stop();
  notice.join();
  orb->shutdown(true);  // waits for the requests in progress
  local.transactions.abort_all();
  orb->destroy();
  clear_request_hooks();
  return ended;
}

// The primary's copy begun: a new standby waits for its primary (a cluster manager may start
// both at once) as long as it would wait for a busy port (--bind-timeout), or until a stop signal.
OServ::ReplicaCopy* begin_copy(Process& p, CorbaPeers& peers) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(p.settings.bind_timeout);
  bool said = false;
  for (;;) {
    try {
      return peers.call(kTmrDispatcher, timeouts::kCopyBegin,
                        [](OServ::Dispatcher_ptr d) { return d->replica_copy_begin(); });
    } catch (const Unreachable& e) {
      if (std::chrono::steady_clock::now() >= deadline) throw;
      if (!std::exchange(said, true))
        p.log.line(fmt::format("^standby: {}; waiting for the primary (--bind-timeout {} s)",
                               e.what(), p.settings.bind_timeout));
      if (const int sig = wait_for_signal(p.signals, std::chrono::seconds(1), p.log))
        throw StoppedBeforeReady{sig};
    }
  }
}

// A new standby's first start: the primary's database, copied whole (an online backup there,
// read in pieces), replaces the placeholder oinstall made; this instance's own meta keys stay.
void copy_from_primary(Process& p, CORBA::ORB_ptr orb) {
  namespace fs = std::filesystem;
  if (p.db->get_meta(db::kMetaStandbyCopy) != std::string("needed")) return;
  std::vector<std::pair<std::string, std::string>> own;
  for (const char* key : {db::kMetaInstanceId, db::kMetaCreated, db::kMetaDurability})
    if (auto v = p.db->get_meta(key)) own.emplace_back(key, *v);
  const std::string tmp = p.inst.dbdir + "/standby-copy.tmp";
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  std::uint64_t size = 0;
  try {
    CorbaPeers peers(orb, *p.db);
    OServ::ReplicaCopy_var copy = begin_copy(p, peers);
    size = copy->size;
    std::ofstream out(tmp + "/data.mdb", std::ios::binary);
    for (std::uint64_t at = 0; at < size;) {
      OServ::Program_var piece = peers.call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr d) {
        return d->replica_copy_read(copy->id.in(), at, kCopyPiece);
      });
      if (piece->length() == 0) fail(fmt::format("the primary's copy {} ended at byte {} of {}", copy->id.in(), at, size));
      out.write(reinterpret_cast<const char*>(piece->get_buffer()), piece->length());
      at += piece->length();
    }
    out.close();
    if (!out) fail(fmt::format("{}/data.mdb: cannot be written", tmp));
    peers.call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr d) { d->replica_copy_end(copy->id.in()); });
  } catch (const Failure& e) {
    fs::remove_all(tmp);
    std::string msg = fmt::format("standby: its first start copies the primary's database, and "
                                  "that failed: {}; start the primary first, then this standby",
                                  e.what());
    p.log.line("!" + msg);
    throw StartError{kRuntime, msg};
  }
  p.db.reset();
  fs::rename(tmp + "/data.mdb", p.inst.dbdir + "/data.mdb");
  fs::remove(p.inst.dbdir + "/lock.mdb");
  fs::remove_all(tmp);
  p.db = open_database(p.inst, p.settings);
  auto t = p.db->begin(nullptr, "standby copy");
  for (const auto& [key, value] : own) t->put(db::Table::kMeta, key, value);
  t->put(db::Table::kMeta, db::kMetaRole, "standby");
  t->erase(db::Table::kMeta, db::kMetaStandbyCopy);
  t->commit();
  p.log.line(fmt::format("standby: copied the primary's database ({} bytes, up to transaction {})",
                         size, p.db->last_seq()));
}

// What a standby's operator asks of it (promote, rejoin): done once, then the main thread is
// woken and ends the run with `next`.
class StandbyOrders {
 public:
  std::string give(Served next, const std::function<std::string()>& order) {
    std::lock_guard guard(mu_);
    if (next_ != Served::kStopped) fail("this oserv is changing its role already");
    std::string message = order();
    next_ = next;
    ::kill(::getpid(), SIGUSR2);
    return message;
  }
  Served next() const { return next_.load(); }

 private:
  std::mutex mu_;  // one order at a time
  std::atomic<Served> next_{Served::kStopped};
};

// A demoted TMR server registers with the primary as a standby, and its next run copies the
// primary's database (copy_from_primary) and follows it.
std::string rejoin_primary(db::Database& db, CorbaPeers& peers, const DispatcherInfo& info) {
  peers.call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr d) {
    d->rejoin_standby(info.instance.logical_host.c_str(), info.ip.c_str(), info.instance.port);
    return 0;
  });
  auto t = db.begin(nullptr, "rejoin");
  t->put(db::Table::kMeta, db::kMetaRole, "standby");
  t->put(db::Table::kMeta, db::kMetaStandbyCopy, "needed");
  t->erase(db::Table::kMeta, db::kMetaDemoted);
  t->commit();
  return "Rejoining: this oserv is a standby now; it copies the primary's database and follows "
         "it (what it committed alone stays in its divergence report).";
}

// A planned switchover, at the standby: the primary stops committing and says its last
// transaction; this standby, still following, waits until it has it. Returns the old primary
// (which becomes this one's standby).
OdRecord take_over_planned(db::Database& db, CorbaPeers& peers, const DispatcherInfo& info) {
  const auto primary = odlist::find(db, kTmrDispatcher);
  if (!primary) fail("this standby's odlist has no primary");
  const std::uint64_t last =
      peers.call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr d) {
        return d->switchover(info.instance.logical_host.c_str(), info.ip.c_str(),
                             info.instance.port);
      });
  const auto deadline = std::chrono::steady_clock::now() + timeouts::kSwitchoverCatchUp;
  while (db.last_seq() < last) {
    if (std::chrono::steady_clock::now() > deadline)
      fail(fmt::format("the primary handed over at transaction {}, but this standby has only {} "
                       "after {} s; it was not promoted (odadmin promote without --planned takes "
                       "over with what it has)",
                       last, db.last_seq(),
                       std::chrono::duration_cast<std::chrono::seconds>(timeouts::kSwitchoverCatchUp).count()));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return *primary;
}

// A standby's run, from ready to its end: until a stop signal or an order (StandbyOrders), then
// its background work stopped and its ORB gone. How it ended.
Served end_standby_run(Process& p, CORBA::ORB_ptr orb, LocalDispatcher& local,
                       AutoPromoter& promoter, const StandbyOrders& orders, const std::string& id,
                       ConsoleAttachment& console) {
  wait_for_stop(p.signals, p.log, id, [&] { return orders.next() != Served::kStopped; });
  promoter.stop();
  const Served next = orders.next();
  if (next == Served::kStopped) {
    sd_notify_state("STOPPING=1");
    p.watchdog.emplace(p.settings.stop_timeout, p.log);
  } else {
    p.log.line(next == Served::kPromoted ? "restarting as the primary" : "restarting as a standby");
  }
  console.end();
  local.stop();
  orb->shutdown(true);  // the order's reply goes out first
  orb->destroy();
  clear_request_hooks();
  return next;
}

// A standby TMR server (meta "role" standby, made by oinstall --standby), or a demoted one (role
// "demoted"): it listens on its own address only, follows the primary (dispatcher 1 of its copy
// of the odlist; a demoted one does not), and serves its own state, until a stop signal
// (kStopped), its promotion (kPromoted: serve() starts it again as the primary, in this process,
// so that its supervisor sees no restart) or a rejoin (kRejoin: it starts again as a standby).
// The follower's fetch: the primary's replica_fetch, as the standby `self` ("ip:port").
ReplicaFollower::Fetch fetch_through(CorbaPeers& peers, std::string self) {
  return [&peers, self = std::move(self)](std::uint64_t after, std::uint32_t crc,
                                          std::chrono::milliseconds wait) {
    return peers.replica_fetch(self, after, crc, wait);
  };
}

Served serve_standby(Process& p, char* argv0) {
  const Settings& settings = p.settings;
  DispatcherInfo info = identify(p.inst, *p.db, settings, p.log, p.started);
  info.force_bind_active = true;  // the primary's port may be the same, on another address
  info.listen_ip = info.ip;
  const TlsFiles tls = dispatcher_tls_files(p.inst, p.log);
  on_tls_refusal([&audit = p.audit](const std::string& line) { audit.line(line); });
  CORBA::ORB_var orb = start_orb(info, settings, tls, argv0);
  copy_from_primary(p, orb);
  const auto demoted = p.db->get_meta(db::kMetaDemoted);
  CorbaPeers peers(orb, *p.db);
  LocalDispatcher local(info, *p.db, p.log, peers, std::chrono::seconds(settings.method_timeout),
                        std::chrono::seconds(settings.transaction_lease));
  const auto primary = odlist::find(*p.db, kTmrDispatcher);
  const std::string primary_text =
      primary ? fmt::format("{} ({}:{})", primary->label(), primary->ip, primary->port) : "unknown";
  const std::string self = fmt::format("{}:{}", info.ip, info.instance.port);
  ReplicaFollower follower(*p.db, p.log, primary_text, fetch_through(peers, self));
  if (demoted) follower.set_demoted(*demoted);
  local.follower = &follower;
  // After the follower it reads, so that it is detached before the follower goes.
  const MetricsAttachment metrics(p.metrics.get(), local);
  StandbyOrders orders;
  const auto promote_to = [&](bool planned, std::uint64_t elected) {
    return orders.give(Served::kPromoted, [&] {
      std::optional<OdRecord> old;
      if (planned) old = take_over_planned(*p.db, peers, info);
      follower.stop();
      return promote_standby(*p.db, info.instance.logical_host, info.ip, info.instance.port,
                             old ? &*old : nullptr, elected);
    });
  };
  local.promote = [&](bool planned) { return promote_to(planned, 0); };
  AutoPromoter promoter(*p.db, p.log, local.voter, self,
                        {.silence = [&follower] { return follower.silence(); },
                         .ask = [orb = orb.in()](const Member& m,
                                                 const Candidacy& c) { return ask_vote(orb, m, c); },
                         .promote = [&](std::uint64_t epoch) { promote_to(false, epoch); }});
  if (!demoted) local.auto_promoter = &promoter;
  local.rejoin = [&](const std::string& address) {
    return orders.give(Served::kRejoin, [&] {
      if (!address.empty()) adopt_primary(p, orb, address);
      follower.stop();
      return rejoin_primary(*p.db, peers, info);
    });
  };
  Authorization authorization(local.administrators, p.log, p.audit, host_name(), info.region);
  EpochFence fence(*p.db, p.log);
  const StandbyForward forward{
      .orb = orb.in(), .primary = [&]() -> std::optional<std::string> {
        if (demoted || follower.silence().first > 3 * kFetchWait) return std::nullopt;
        const auto at = odlist::find(*p.db, kTmrDispatcher);
        if (!at) return std::nullopt;
        return at->address();
      }};
  install_access_check(authorization, fence, &forward);
  set_outgoing_epoch(0);
  Endpoints endpoints = open_endpoints(p, settings, local, orb, peers);
  ConsoleAttachment console(p.console.get(), {peers, authorization, *p.db, info.region});
  p.log.line(fmt::format("oserv {} ready: {} TMR server of region {} on {}, {} {} from "
                         "transaction {}",
                         info.id(), demoted ? "demoted" : "standby", info.region, info.listening(),
                         demoted ? "not following the primary" : "following the primary",
                         primary_text, p.db->last_seq()));
  if (!settings.foreground) p.log.set_mirror_stderr(false);
  p.daemon.ready();
  sd_notify_state("READY=1");
  if (!demoted) {
    follower.start();
    promoter.start();
  }
  return end_standby_run(p, orb, local, promoter, orders, info.id(), console);
}

// Runs the dispatcher until a stop signal, in whatever role its database gives it, and again in
// the role a promotion, a demotion or a rejoin gives it. A managed node's second try, with the
// listener the TMR server's odlist asks for, cannot ask for another one: the node's copy is that
// odlist by then.
void serve(Process& p, char* argv0) {
  for (;;) {
    const std::string role = p.db->get_meta(db::kMetaRole).value_or("");
    if (role == "standby" || role == "demoted") {
      const Served s = serve_standby(p, argv0);
      if (s == Served::kStopped) return;
      p.promoted = s == Served::kPromoted;
      continue;
    }
    Served s = serve_once(p, argv0);
    if (s == Served::kListenerChanged) s = serve_once(p, argv0);
    p.promoted = false;
    if (s == Served::kHandedOver && p.handed_over_to) become_standby_of(p);
    else if (s == Served::kHandedOver) become_demoted(p);
    else if (s != Served::kDemoted) return;
  }
}

// A daemon's process state is its own, not that of whoever started it: default signal
// dispositions and an empty signal mask, no inherited descriptor
// (it would stay open as long as the oserv runs, and reach its method programs), file modes that
// do not depend on the starting shell's umask, / as working directory (not pinning a file system
// that an administrator may need to unmount; paths are absolute by then), and the descriptor
// limit raised to the hard limit.
void own_process_state() {
  ::close_range(3, ~0U, 0);
  ::umask(022);
  // Signal dispositions survive exec: a supervisor that ignores SIGCHLD (some do, to have their
  // children reaped for them) would leave this process unable to wait for its own children —
  // the daemon's exit status at start-up, method programs' exit codes. Every signal starts at
  // its default here; the oserv sets what it handles itself.
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // Every connection and method program pipe is a descriptor: allow as many as the hard limit.
  if (rlimit files{}; ::getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &files);
  }
}

// --metrics: its HTTP endpoint listens from now on (after detach(): a thread does not survive
// the fork), and the request interceptor counts every call there.
void start_metrics(Process& p) {
  if (p.settings.metrics.empty()) return;
  try {
    p.metrics = std::make_unique<OservMetrics>(p.settings.metrics);
  } catch (const std::exception& e) {
    throw StartError{kAddressUnavailable, e.what()};
  }
  set_call_metrics(p.metrics.get());
  p.log.line(fmt::format("metrics at http://{}/metrics", p.metrics->address()));
}

// --console: the web console listens from now on, with the dispatcher's certificate; it shows
// pages while a run is attached.
void start_console(Process& p) {
  if (p.settings.console.empty()) return;
  const TlsFiles files = dispatcher_tls_files(p.inst, p.log);
  try {
    p.console = std::make_unique<Console>(p.settings.console, files, p.audit);
  } catch (const std::exception& e) {
    throw StartError{kAddressUnavailable, e.what()};
  }
  p.log.line(fmt::format("console at https://{}/", p.console->address()));
}

int run(int argc, char** argv) {
  own_process_state();
  Process p;
  p.settings = parse_command_line(argc, argv);
  try {
    p.inst = load_instance(p.settings.flags);
  } catch (const ConfigError& e) {
    throw StartError{kConfig, e.what()};
  }
  if (::chdir("/") != 0) throw StartError{kRuntime, fmt::format("chdir /: {}", std::strerror(errno))};
  // Everything that can fail from here on is reported on the terminal of the command that
  // started us: the parent of detach() waits for ready() or our exit code.
  if (!p.settings.foreground) p.daemon.detach();
  p.signals = block_signals();
  p.pid_file = lock_instance(p.inst);
  p.db = open_database(p.inst, p.settings);
  p.started = OservLog::timestamp();
  start_log(p.log, p.inst, *p.db, p.started);
  open_audit_log(p);
  start_metrics(p);
  start_console(p);
  try {
    serve(p, argv[0]);
  } catch (const StoppedBeforeReady& stop) {
    p.log.line(fmt::format("oserv {} stopping ({}) before it was ready", p.inst.where.id,
                           signal_name(stop.signal)));
  }
  // The database is closed (and its owner lock released) before the pid file goes, so a new
  // oserv that finds the instance stopped also finds its database free.
  p.db->sync();
  p.db.reset();
  ::unlink(p.inst.where.socket_path().c_str());
  p.log.line(fmt::format("oserv {} stopped", p.inst.where.id));
  p.pid_file->remove();
  p.watchdog.reset();
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
  } catch (const Failure& e) {
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
