// Gateway processes: their objects' settings, and a watcher thread per running gateway.
#include "GatewayHost.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "Failure.h"
#include "Numbers.h"
#include "Odlist.h"
#include "Records.h"
#include "Replog.h"
#include "TextFile.h"
#include "Timeouts.h"

namespace openoserv {

namespace {
// Attributes of a Gateway object: "<object key>/gateway:<name>".
constexpr const char* kAttr = "/gateway:";
// meta: the OIDs of the gateways made here, one per line (start_all reads this, not every
// object: a node with a million objects starts as fast as an empty one).
constexpr const char* kLocalGateways = "gateways";

std::string describe_exit(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with code {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return fmt::format("was killed by signal {}", WTERMSIG(status));
  return "ended";
}
}  // namespace

struct GatewayHost::Process {
  std::string oid;
  Config config;
  std::vector<std::string> argv;
  std::string out_path;
  pid_t pid = 0;
  bool stopping = false;
  bool exited = false;  // the watcher has returned
  std::string since;
  std::thread watcher;
};

GatewayHost::~GatewayHost() { stop_all(); }

std::string GatewayHost::state_dir(const std::string& label) const {
  return self_.instance.dbdir + "/gateway/" + label;
}

std::vector<GatewayRecord> GatewayHost::running() {
  std::vector<GatewayRecord> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, p] : running_)
      if (p->pid > 0) out.push_back({.label = p->config.label, .oid = p->oid, .od = self_.od});
  }
  // The files are read outside the lock, which the process watchers need.
  std::erase_if(out, [this](GatewayRecord& g) {
    auto ior = read_text_file(state_dir(g.label) + "/gateway.ior");
    if (!ior || ior->empty()) return true;
    g.ior = ior->substr(0, ior->find('\n'));
    return false;
  });
  return out;
}

GatewayHost::Config GatewayHost::config(const Oid& gw) {
  auto cls = db_.read(db::Table::kObjects, gw.key());
  if (!cls || *cls != kGatewayClass)
    fail(fmt::format("{} is not a gateway of dispatcher {}", gw.text(), self_.od));
  auto attr = [&](const char* name) {
    auto bytes = db_.read(db::Table::kAttributes, gw.key() + kAttr + name);
    auto text = bytes ? records::decode_string(*bytes) : std::nullopt;
    return text.value_or("");
  };
  Config c;
  c.label = attr("label");
  const auto port = parse_number<std::uint16_t>(attr("port"));
  if (c.label.empty() || !port || *port == 0)
    fail(fmt::format("gateway {} has no label or port in this node's database", gw.text()));
  c.port = *port;
  c.run = attr("run") == "1";
  return c;
}

void GatewayHost::set_run(const Oid& gw, bool run) {
  auto txn = db_.begin(nullptr, "gateway");
  txn->put(db::Table::kAttributes, gw.key() + kAttr + "run", records::encode_string(run ? "1" : "0"));
  txn->commit();
}

std::string GatewayHost::create(const std::string& label, std::uint16_t port) {
  if (port == 0) fail("a gateway needs a port (wcrtgate -p)");
  {
    std::lock_guard lock(mu_);
    for (const auto& [key, p] : running_)
      if (p->config.port == port)
        fail(fmt::format("port {} is already gateway {}'s on this node", port, p->config.label));
  }
  const std::string oid = objects_.create_object(kGatewayClass, "Gateway", label);
  const Oid gw = Oid::parse(oid);
  auto txn = db_.begin(nullptr, "gateway");
  txn->put(db::Table::kAttributes, gw.key() + kAttr + "label", records::encode_string(label));
  txn->put(db::Table::kAttributes, gw.key() + kAttr + "port",
           records::encode_string(std::to_string(port)));
  txn->put(db::Table::kAttributes, gw.key() + kAttr + "run", records::encode_string("1"));
  txn->lock(db::Table::kMeta, kLocalGateways, db::LockMode::kWrite);
  txn->put(db::Table::kMeta, kLocalGateways,
           txn->get(db::Table::kMeta, kLocalGateways).value_or("") + oid + "\n");
  txn->commit();
  start(gw);
  return oid;
}

std::string GatewayHost::start(const Oid& gw) {
  const Config c = config(gw);
  set_run(gw, true);
  std::lock_guard lock(mu_);
  if (auto it = running_.find(gw.key()); it != running_.end() && !it->second->stopping)
    return fmt::format("gateway {} is already running (pid {})", c.label, it->second->pid);
  launch(gw, c);
  return fmt::format("gateway {} started", c.label);
}

// The TMR server's address in the odlist, and the region's epoch as this node knows it: read at
// every start of a gateway's process, so one restarted after a promotion has the new ones.
std::pair<std::string, std::string> GatewayHost::tmr_and_epoch() {
  std::string tmr;
  for (const auto& r : odlist::load(db_))
    if (r.od == kTmrDispatcher) tmr = r.address();
  if (tmr.empty()) fail("the odlist has no TMR server: a gateway could not reach it");
  return {tmr, db_.get_meta(db::kMetaReplEpoch).value_or("0")};
}

void GatewayHost::follow_tmr(GatewayCalls& calls, const std::string& address,
                             std::uint64_t epoch) {
  for (const auto& g : running()) {
    try {
      calls.follow_tmr(g, address, epoch);
      log_.line(fmt::format("gateway {} told: the TMR server is at {} (epoch {})", g.label,
                            address, epoch));
    } catch (const Failure& e) {
      // It starts again with the new address (watch): its endpoints log in to it again.
      log_.line(fmt::format("^gateway {} could not be told where the TMR server is now ({}); "
                            "restarting it",
                            g.label, e.what()));
      std::lock_guard lock(mu_);
      for (const auto& [key, p] : running_)
        if (p->oid == g.oid && p->pid > 0) ::kill(p->pid, SIGTERM);
    }
  }
}

void GatewayHost::launch(const Oid& gw, const Config& c) {
  const std::string tmr = tmr_and_epoch().first;
  auto p = std::make_shared<Process>();
  p->oid = gw.text();
  p->config = c;
  const std::string dir = state_dir(c.label);
  make_directories(dir, 0700);
  p->out_path = dir + "/gateway.out";
  p->argv = {self_.install_dir + "/oserv-gateway",
             "--label", c.label,
             "--oid", gw.text(),
             "--listen", fmt::format("{}:{}", self_.ip, c.port),
             "--tmr", tmr,
             "--ssl", self_.instance.dbdir + "/ssl",
             "--dir", dir,
             "--epoch", "0"};
  Process& ref = *p;
  running_[gw.key()] = std::move(p);
  ref.watcher = std::thread([this, &ref] { watch(ref); });
}

pid_t GatewayHost::spawn(const Process& p) {
  std::vector<char*> argv;
  for (const auto& a : p.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int out = ::open(p.out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    // The oserv blocks the signals it waits for; the gateway must get them.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    const int null = ::open("/dev/null", O_RDONLY);
    if (null >= 0) ::dup2(null, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (out >= 0) ::close(out);
  return pid;
}

void GatewayHost::watch(Process& p) {
  for (;;) {
    try {
      std::tie(p.argv[kTmrArg], p.argv.back()) = tmr_and_epoch();
    } catch (const std::exception& e) {
      log_.line(fmt::format("^gateway {}: {}; starting it with the TMR server it had", p.config.label, e.what()));
    }
    const pid_t pid = spawn(p);
    if (pid < 0) {
      log_.line(fmt::format("!gateway {}: cannot start {}", p.config.label, p.argv[0]));
    } else {
      {
        std::lock_guard lock(mu_);
        p.pid = pid;
        p.since = OservLog::timestamp();
      }
      changed_.notify_all();
      log_.line(fmt::format("gateway {} started (pid {}, {})", p.config.label, pid, p.argv[6]));
      MethodThreads::Scope thread(threads_, p.oid, "gateway", "run", true);
      thread.set_pid(pid);
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      std::lock_guard lock(mu_);
      p.pid = 0;
      if (!p.stopping)
        log_.line(fmt::format("^gateway {} (pid {}) {}; starting it again", p.config.label, pid,
                              describe_exit(status)));
      else
        log_.line(fmt::format("gateway {} stopped", p.config.label));
    }
    std::unique_lock lock(mu_);
    if (changed_.wait_for(lock, timeouts::kGatewayRestart, [&] { return p.stopping; })) break;
  }
  {
    std::lock_guard lock(mu_);
    p.exited = true;
  }
  changed_.notify_all();
}

std::string GatewayHost::stop(const Oid& gw) {
  const Config c = config(gw);
  set_run(gw, false);
  std::shared_ptr<Process> p;
  {
    std::unique_lock lock(mu_);
    auto it = running_.find(gw.key());
    if (it == running_.end()) return fmt::format("gateway {} is not running", c.label);
    p = std::move(it->second);
    running_.erase(it);
    p->stopping = true;
    if (p->pid > 0) ::kill(p->pid, SIGTERM);
    changed_.notify_all();
    // It tells its endpoints where to go, then exits; past the grace period it is killed.
    if (!changed_.wait_for(lock, timeouts::kProgramGrace, [&] { return p->exited; })) {
      if (p->pid > 0) ::kill(p->pid, SIGKILL);
      changed_.wait(lock, [&] { return p->exited; });
    }
  }
  p->watcher.join();
  return fmt::format("gateway {} stopped", c.label);
}

std::string GatewayHost::status(const Oid& gw) {
  const Config c = config(gw);
  std::lock_guard lock(mu_);
  auto it = running_.find(gw.key());
  if (it == running_.end() || it->second->pid == 0)
    return fmt::format("gateway {}: {} (port {})", c.label,
                       c.run ? "not running, restarting" : "stopped", c.port);
  return fmt::format("gateway {}: running, pid {}, since {}, port {}", c.label, it->second->pid,
                     it->second->since, c.port);
}

void GatewayHost::start_all() {
  const std::string list = db_.get_meta(kLocalGateways).value_or("");
  for (size_t pos = 0; pos < list.size();) {
    const size_t nl = std::min(list.find('\n', pos), list.size());
    Oid gw;
    const bool parsed = Oid::try_parse(list.substr(pos, nl - pos), gw);
    pos = nl + 1;
    if (!parsed) continue;
    try {
      const Config c = config(gw);
      if (!c.run) continue;
      std::lock_guard lock(mu_);
      if (!running_.count(gw.key())) launch(gw, c);
    } catch (const Failure& e) {
      log_.line(fmt::format("^gateway {} not started: {}", gw.text(), e.what()));
    }
  }
}

void GatewayHost::stop_all() {
  std::vector<std::shared_ptr<Process>> all;
  {
    std::unique_lock lock(mu_);
    for (auto& [key, p] : running_) {
      p->stopping = true;
      if (p->pid > 0) ::kill(p->pid, SIGTERM);
      all.push_back(std::move(p));
    }
    running_.clear();
    changed_.notify_all();
    for (auto& p : all)
      if (!changed_.wait_for(lock, timeouts::kProgramGrace, [&] { return p->exited; })) {
        if (p->pid > 0) ::kill(p->pid, SIGKILL);
        changed_.wait(lock, [&] { return p->exited; });
      }
  }
  for (auto& p : all) p->watcher.join();
}

}  // namespace openoserv
