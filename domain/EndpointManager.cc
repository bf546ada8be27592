// The Endpoint Manager's records and assignments.
#include "EndpointManager.h"

#include <algorithm>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "Failure.h"
#include "HostPort.h"
#include "Odlist.h"
#include "Oid.h"
#include "RegionCa.h"
#include "TextFile.h"
#include "Timeouts.h"

namespace openoserv {

namespace {

constexpr const char* kLock = "#epm";  // every change; no OID key starts with '#'
constexpr size_t kMaxProgram = (16u << 20) - 1024;  // fits one frame of the endpoint protocol

// A program's first output line, for a log line or a refusal.
std::string first_line(const std::string& output) { return output.substr(0, output.find('\n')); }

bool valid_label(const std::string& text) {
  return !text.empty() && text.size() <= 128 &&
         text.find_first_of("/ \t\r\n#") == std::string::npos;
}

}  // namespace

GatewayRecord EndpointManager::add_gateway(const GatewayRecord& g) {
  if (self_.od != kTmrDispatcher) fail("gateways are recorded at the TMR server");
  if (!valid_label(g.label)) fail(fmt::format("'{}' is not a valid gateway label", g.label));
  if (g.host.empty() || g.port == 0)
    fail(fmt::format("gateway {} needs an address and a port", g.label));
  auto txn = db_.begin(nullptr, "gateway");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  for (const auto& other : gateways()) {
    if (other.label == g.label) fail(fmt::format("gateway {} already exists", g.label));
    if (other.host == g.host && other.port == g.port)
      fail(fmt::format("{}+{} is already gateway {}'s address", g.host, g.port, other.label));
  }
  txn->put(db::Table::kGateways, g.label, records::encode_gateway(g));
  txn->commit();
  log_.line(fmt::format("gateway {} ({}) on dispatcher {} at {}+{}", g.label, g.oid, g.od, g.host,
                        g.port));
  return g;
}

std::string EndpointManager::create_gateway(const std::string& node, const std::string& label,
                                            std::uint16_t port, const Principal* caller) {
  if (self_.od != kTmrDispatcher) fail("gateways are recorded at the TMR server");
  if (!valid_label(label)) fail(fmt::format("'{}' is not a valid gateway label", label));
  if (gateway(label)) fail(fmt::format("gateway {} already exists", label));
  const Oid node_oid = Oid::parse(objects_.lookup("ManagedNode", node));
  const auto od = odlist::find(db_, node_oid.od);
  if (!od) fail(fmt::format("managed node {} (dispatcher {}) is not in the odlist", node,
                            node_oid.od));
  for (const auto& other : gateways())
    if (other.host == od->ip && other.port == port)
      fail(fmt::format("{}+{} is already gateway {}'s address", od->ip, port, other.label));
  auto r = objects_.invoke(node_oid.text(), "host_gateway", {label, std::to_string(port)}, caller);
  if (r.exit_code != 0) fail(r.output);
  std::string oid = r.output.substr(0, r.output.find('\n'));
  add_gateway({.label = label, .oid = oid, .od = od->od, .host = od->ip, .port = port});
  return fmt::format("Created gateway {} ({}) on {}, port {}.", label, oid, node, port);
}

std::vector<GatewayRecord> EndpointManager::gateways() {
  std::vector<GatewayRecord> out;
  for (const auto& [label, bytes] : db_.scan(db::Table::kGateways))
    out.push_back(records::decode_gateway(label, bytes));
  return out;
}

std::optional<GatewayRecord> EndpointManager::gateway(const std::string& label) {
  auto bytes = db_.read(db::Table::kGateways, label);
  if (!bytes) return std::nullopt;
  return records::decode_gateway(label, *bytes);
}

void EndpointManager::delete_gateway(const std::string& label) {
  auto txn = db_.begin(nullptr, "gateway delete");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  if (!gateway(label)) fail(fmt::format("no gateway {}", label));
  if (const auto n = endpoints(label).size())
    fail(fmt::format("gateway {} still has {} endpoint(s); migrate them first (wep EP migrate GW)",
                     label, n));
  txn->erase(db::Table::kGateways, label);
  txn->commit();
  log_.line(fmt::format("gateway {} deleted", label));
}

EndpointManager::Assignment EndpointManager::login(const Login& l) {
  if (self_.od != kTmrDispatcher) fail("the Endpoint Manager is at the TMR server");
  if (!gateway(l.via))
    fail(fmt::format("gateway {} is not one the Endpoint Manager knows (wcrtgate)", l.via));
  if (l.kind == "initial") return initial(l);
  if (l.kind == "isolated") return isolated(l);
  fail(fmt::format("'{}' is not a login the Endpoint Manager takes (initial, isolated)", l.kind));
}

EndpointManager::Assignment EndpointManager::initial(const Login& l) {
  if (!valid_label(l.label)) fail(fmt::format("'{}' is not a valid endpoint label", l.label));
  // The policies run before the lock: a slow one holds up this login only.
  const std::vector<std::string> args = policy_args(l, "");
  if (auto r = policy("allow_install_policy", args); r && r->exit_code != 0)
    fail(fmt::format("the allow_install_policy refused endpoint {} (exit code {}): {}", l.label,
                     r->exit_code, first_line(r->output)));
  const std::string assigned = selected_gateway(l, args);
  auto txn = db_.begin(nullptr, "endpoint login");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  // The object, its name and its record are made in this one transaction. An endpoint object
  // named but without a record (what a crash between them left before they were) is taken
  // over, not left to block the label.
  std::string oid, previous;  // previous: the gateway of the record taken over, if any
  if (auto named = db_.read(db::Table::kNames, "Endpoint/" + l.label)) {
    if (auto bytes = db_.read(db::Table::kEndpoints, Oid::parse(*named).key())) {
      const EndpointRecord old = records::decode_endpoint(*named, *bytes);
      if (!first_login_unfinished(old, l))
        fail(fmt::format("endpoint label {} is already endpoint {}; delete it (wdelep {}) before "
                         "installing another endpoint under that name",
                         l.label, *named, l.label));
      previous = old.gateway;
    }
    oid = *named;
  } else {
    oid = objects_.create_object(kEndpointClass, "Endpoint", l.label, txn.get());
  }
  Assignment a;
  a.key = tls::random_hex(16);
  a.endpoint = {.label = l.label, .oid = oid, .interp = l.interp, .address = l.address,
                .gateway = assigned, .last_login = l.now, .login_kind = "initial",
                .migrations = 0, .key_hash = tls::sha256_hex(a.key)};
  txn->put(db::Table::kEndpoints, Oid::parse(oid).key(), records::encode_endpoint(a.endpoint));
  auto load = note_change(previous, assigned);
  txn->commit();
  log_.line(fmt::format("endpoint {} ({}) from {}: initial login, assigned to gateway {}", l.label,
                        oid, l.address, assigned));
  a.gateway = *gateway(assigned);
  a.alternates = alternates_for(assigned, std::move(load));
  after_login("after_install_policy", policy_args(l, oid));
  after_login("login_policy", policy_args(l, oid));
  return a;
}

EndpointManager::Assignment EndpointManager::isolated(const Login& l) {
  Oid oid;
  if (!Oid::try_parse(l.oid, oid))
    fail(fmt::format("'{}' is not an endpoint OID; log in as a new endpoint", l.oid));
  auto txn = db_.begin(nullptr, "endpoint login");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  auto bytes = db_.read(db::Table::kEndpoints, oid.key());
  if (!bytes)
    fail(fmt::format("orphan: endpoint {} is not known to the Endpoint Manager; log in as a new "
                     "endpoint",
                     l.oid));
  Assignment a;
  a.endpoint = records::decode_endpoint(oid.key(), *bytes);
  if (tls::sha256_hex(l.key) != a.endpoint.key_hash)
    fail(fmt::format("endpoint {} did not prove its identity (wrong key)", a.endpoint.label));
  const bool moved = a.endpoint.gateway != l.via;
  // A live session at its gateway means this login is a second lcfd with its identity (started
  // twice after a takeover), not an isolated endpoint: refused, and the live one keeps it. A
  // gateway that does not answer is the isolated case.
  if (moved && calls_)
    if (auto old = gateway(a.endpoint.gateway); old && !old->ior.empty()) {
      std::string live;
      try {
        live = calls_->session_of(*old, a.endpoint.oid);
      } catch (const std::exception&) {
      }
      if (!live.empty())
        fail(fmt::format("endpoint {} ({}) is logged in at gateway {} from {}; a second session "
                         "with its identity is refused",
                         a.endpoint.label, a.endpoint.oid, old->label, live));
    }
  if (moved) {
    ++a.endpoint.migrations;
    log_.line(fmt::format("endpoint {} ({}) from {}: isolated from gateway {}, now on gateway {}",
                          a.endpoint.label, a.endpoint.oid, l.address, a.endpoint.gateway, l.via));
  }
  const std::string from = a.endpoint.gateway;
  a.endpoint.gateway = l.via;
  a.endpoint.address = l.address;
  a.endpoint.last_login = l.now;
  a.endpoint.login_kind = "isolated";
  txn->put(db::Table::kEndpoints, oid.key(), records::encode_endpoint(a.endpoint));
  auto load = note_change(from, l.via);
  txn->commit();
  // The old gateway may still run (a partition, not a crash): it must not take the endpoint back.
  if (moved) tell_forget(from, a.endpoint.oid, "");
  after_login("login_policy", policy_args(l, a.endpoint.oid, a.endpoint.label));
  a.gateway = *gateway(l.via);
  a.alternates = alternates_for(l.via, std::move(load));
  return a;
}

// An endpoint whose first login was granted but never completed: its lcfd stopped before it
// saved lcf.dat (so it asks for an initial login again), from the same address and interpreter,
// nothing heard from it since (no later login, no upcall), no live session. It gets a new key
// under its object, instead of its label being blocked until an administrator deletes it.
bool EndpointManager::first_login_unfinished(const EndpointRecord& e, const Login& l) {
  if (e.login_kind != "initial" || e.address != l.address || e.interp != l.interp ||
      e.last_upcall != 0)
    return false;
  if (auto g = gateway(e.gateway); g && !g->ior.empty() && calls_) {
    try {
      if (!calls_->session_of(*g, e.oid).empty()) return false;
    } catch (const std::exception&) {
      // Its gateway does not answer: no session there to take over.
    }
  }
  log_.line(fmt::format("endpoint {} ({}) from {}: its first login never completed; a new key",
                        e.label, e.oid, l.address));
  return true;
}

// A policy's arguments after the Endpoint Manager's OID and the policy's name: the endpoint's
// label, OID ("" before it has one), interpreter, the gateway the login reached, the address it
// came from, the kind of login.
std::vector<std::string> EndpointManager::policy_args(const Login& l, const std::string& oid,
                                                      const std::string& label) {
  return {label.empty() ? l.label : label, oid, l.interp, l.via, l.address, l.kind};
}

std::optional<MethodOutcome> EndpointManager::policy(const std::string& name,
                                                     const std::vector<std::string>& args) {
  return objects_.run_policy(manager_oid(), name, args, timeouts::kPolicy);
}

// The select_gateway_policy's choice: the first line of its output that names a gateway (label
// or OID) whose process has started. Any failure, or no such line: the gateway the login reached.
std::string EndpointManager::selected_gateway(const Login& l, const std::vector<std::string>& args) {
  std::optional<MethodOutcome> r;
  try {
    r = policy("select_gateway_policy", args);
  } catch (const std::exception& e) {
    log_.line(fmt::format("^select_gateway_policy for endpoint {}: {}; it stays at gateway {}",
                          l.label, e.what(), l.via));
    return l.via;
  }
  if (!r) return l.via;
  if (r->exit_code != 0) {
    log_.line(fmt::format("^select_gateway_policy for endpoint {} exited {}; it stays at gateway {}",
                          l.label, r->exit_code, l.via));
    return l.via;
  }
  std::istringstream lines(r->output);
  for (std::string line; std::getline(lines, line);) {
    line.erase(0, line.find_first_not_of(" \t"));
    line.erase(line.find_last_not_of(" \t\r") + 1);
    for (const auto& g : gateways())
      if ((g.label == line || g.oid == line) && !g.ior.empty()) {
        log_.line(fmt::format("select_gateway_policy: endpoint {} goes to gateway {}", l.label,
                              g.label));
        return g.label;
      }
  }
  log_.line(fmt::format("^select_gateway_policy named no running gateway for endpoint {}; it "
                        "stays at gateway {}",
                        l.label, l.via));
  return l.via;
}

// after_install_policy and login_policy: in the background, logged, never holding a login up.
void EndpointManager::after_login(const std::string& name, std::vector<std::string> args) {
  // Most regions install neither: then no job, and no wakeup of the worker at each login.
  const auto methods = objects_.class_methods(kEndpointManagerClass);
  if (std::none_of(methods.begin(), methods.end(), [&](const auto& m) { return m.name == name; }))
    return;
  post([this, name, args = std::move(args)] {
    try {
      auto r = policy(name, args);
      if (r && r->exit_code != 0)
        log_.line(fmt::format("^{} for endpoint {} exited {}: {}", name, args[0], r->exit_code,
                              first_line(r->output)));
    } catch (const std::exception& e) {
      log_.line(fmt::format("^{} for endpoint {}: {}", name, args[0], e.what()));
    }
  });
}

namespace {

void move_one(std::map<std::string, size_t>& load, const std::string& from, const std::string& to) {
  if (from == to) return;
  if (auto it = load.find(from); it != load.end() && it->second > 0) --it->second;
  if (!to.empty()) ++load[to];
}

}  // namespace

std::map<std::string, size_t> EndpointManager::note_change(const std::string& from,
                                                           const std::string& to) {
  std::lock_guard lock(load_mu_);
  const std::uint64_t now = db_.generation(db::Table::kEndpoints);
  if (load_generation_ != kNotCounted && load_generation_ + 1 == now && noted_generation_ == now) {
    move_one(load_, noted_.first, noted_.second);  // the last note's commit went through
    load_generation_ = now;
  }
  if (load_generation_ != now) {  // exact: the caller's lock keeps changes out meanwhile
    load_.clear();
    for (const auto& e : endpoints()) ++load_[e.gateway];
    load_generation_ = now;
    ++load_counts_;
  }
  noted_ = {from, to};
  noted_generation_ = now + 1;
  auto load = load_;
  move_one(load, from, to);
  return load;
}

std::uint64_t EndpointManager::load_counts() {
  std::lock_guard lock(load_mu_);
  return load_counts_;
}

std::vector<GatewayRecord> EndpointManager::alternates_for(const std::string& assigned,
                                                           std::map<std::string, size_t> load) {
  std::vector<GatewayRecord> out;
  for (auto& g : gateways())
    if (g.label != assigned) out.push_back(std::move(g));
  std::stable_sort(out.begin(), out.end(), [&](const auto& a, const auto& b) {
    return load[a.label] < load[b.label];
  });
  if (out.size() > 3) out.resize(3);
  return out;
}

std::vector<EndpointRecord> EndpointManager::endpoints(const std::string& gateway) {
  std::vector<EndpointRecord> out;
  for (const auto& [key, bytes] : db_.scan(db::Table::kEndpoints)) {
    auto e = records::decode_endpoint(key, bytes);
    if (gateway.empty() || e.gateway == gateway) out.push_back(std::move(e));
  }
  return out;
}

std::vector<LiveSession> EndpointManager::sessions(const std::string& label) {
  auto g = gateway(label);
  if (!g) fail(fmt::format("no gateway {} in this region", label));
  if (g->ior.empty() || !calls_)
    fail(fmt::format("gateway {} has not started since it was made (see wgateway {} status)",
                     label, label));
  return calls_->sessions(*g);
}

std::optional<MethodOutcome> EndpointManager::downcall_here(
    const std::vector<GatewayRecord>& mine, const std::string& oid, const std::string& method,
    const std::vector<std::string>& args, std::chrono::seconds timeout) {
  if (!calls_) return std::nullopt;
  for (const auto& g : mine) {
    try {
      if (calls_->session_of(g, oid).empty()) continue;
    } catch (const Unreachable&) {
      continue;  // not running: it holds nobody
    }
    log_.line(fmt::format("{} on endpoint {}: the TMR server does not answer; sent through "
                          "gateway {}, which holds its session",
                          method, oid, g.label));
    return calls_->downcall_here(g, oid, method, args, timeout);
  }
  return std::nullopt;
}

std::optional<EndpointRecord> EndpointManager::endpoint(const std::string& name) {
  Oid oid;
  if (Oid::try_parse(name, oid)) {
    if (auto bytes = db_.read(db::Table::kEndpoints, oid.key()))
      return records::decode_endpoint(oid.key(), *bytes);
  }
  for (auto& e : endpoints())
    if (e.label == name) return e;
  return std::nullopt;
}

std::vector<EndpointRecord> EndpointManager::gateway_started(const std::string& label,
                                                             const std::string& ior,
                                                             std::vector<GatewayRecord>& others) {
  if (self_.od != kTmrDispatcher) fail("the Endpoint Manager is at the TMR server");
  {
    auto txn = db_.begin(nullptr, "gateway started");
    txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
    auto g = gateway(label);
    if (!g) fail(fmt::format("gateway {} is not one the Endpoint Manager knows (wcrtgate)", label));
    if (g->ior != ior) {
      g->ior = ior;
      txn->put(db::Table::kGateways, label, records::encode_gateway(*g));
    }
    txn->commit();
  }
  log_.line(fmt::format("gateway {} started", label));
  others.clear();
  for (auto& g : gateways())
    if (g.label != label) others.push_back(std::move(g));
  return endpoints(label);
}

std::pair<std::string, std::string> EndpointManager::program_for(const std::string& method) {
  std::string path;
  for (const auto& m : objects_.class_methods(kEndpointClass))
    if (m.name == method) path = m.program;
  if (path.empty()) return {};
  auto body = read_text_file(path);
  if (!body)
    fail(fmt::format("the program of endpoint method {} ({}) cannot be read", method, path));
  if (body->size() > kMaxProgram)
    fail(fmt::format("the program of endpoint method {} ({}) is {} bytes; endpoints take at most "
                     "{}",
                     method, path, body->size(), kMaxProgram));
  std::string digest = tls::sha256_hex(*body);
  std::lock_guard lock(mu_);
  digests_[digest] = path;
  return {path, digest};
}

MethodOutcome EndpointManager::downcall(const Oid& oid, const std::string& method,
                                        const std::vector<std::string>& args,
                                        std::chrono::seconds timeout) {
  auto bytes = db_.read(db::Table::kEndpoints, oid.key());
  if (!bytes) fail(fmt::format("endpoint {} has no record at the Endpoint Manager", oid.text()));
  const auto e = records::decode_endpoint(oid.key(), *bytes);
  const auto g = gateway(e.gateway);
  if (!g) fail(fmt::format("endpoint {}'s gateway {} no longer exists", e.label, e.gateway));
  if (g->ior.empty() || !calls_)
    fail(fmt::format("endpoint {}'s gateway {} has never started", e.label, e.gateway));
  const auto [path, digest] = program_for(method);
  if (path.empty() && method != "ping" && method != "status" && method != "set_interfaces")
    fail(fmt::format("class {} has no method {} (install it with wclass)", kEndpointClass, method));
  MethodThreads::Scope thread(threads_, oid.text(), method, "rwait");
  try {
    return calls_->downcall(*g, oid.text(), method, args, digest, timeout);
  } catch (const Unreachable& e) {
    fail(fmt::format("{} on endpoint {}: its gateway {} ({}+{}) does not answer: {}", method,
                     oid.text(), g->label, g->host, g->port, e.what()));
  }
}

std::string EndpointManager::method_body(const std::string& digest) {
  std::string path;
  {
    std::lock_guard lock(mu_);
    if (auto it = digests_.find(digest); it != digests_.end()) path = it->second;
  }
  if (path.empty())  // not asked for since this oserv started: look at every method
    for (const auto& m : objects_.class_methods(kEndpointClass))
      if (program_for(m.name).second == digest) path = m.program;
  if (path.empty()) fail(fmt::format("no endpoint method program has digest {}", digest));
  auto body = read_text_file(path);
  if (!body || tls::sha256_hex(*body) != digest)
    fail(fmt::format("the program {} changed since digest {} was sent; call the method again",
                     path, digest));
  return *body;
}

std::string EndpointManager::manager_oid() {
  constexpr const char* kName = "EndpointManager/EndpointManager";
  if (auto named = db_.read(db::Table::kNames, kName)) return *named;
  try {
    return objects_.create_object(kEndpointManagerClass, "EndpointManager", "EndpointManager");
  } catch (const Failure&) {
    // Two first logins at once: the other one's call named it first.
    if (auto named = db_.read(db::Table::kNames, kName)) return *named;
    throw;
  }
}

bool EndpointManager::upcall(const std::string& oid_text, std::uint64_t id,
                             const std::string& method, const std::vector<std::string>& args) {
  Oid oid;
  if (!Oid::try_parse(oid_text, oid)) fail(fmt::format("'{}' is not an endpoint OID", oid_text));
  std::lock_guard lock(upcall_mu_);
  auto bytes = db_.read(db::Table::kEndpoints, oid.key());
  if (!bytes) fail(fmt::format("endpoint {} is not known to the Endpoint Manager", oid_text));
  auto e = records::decode_endpoint(oid.key(), *bytes);
  if (id <= e.last_upcall) return false;
  std::vector<std::string> full = {e.label, e.oid};
  full.insert(full.end(), args.begin(), args.end());
  const Principal as{.kind = Principal::Kind::kDispatcher,
                     .name = fmt::format("endpoint {} ({})", e.label, e.oid),
                     .admin = "",
                     .roles = kRoleAdmin};
  auto r = objects_.invoke(manager_oid(), method, full, &as);
  if (r.exit_code != 0)
    log_.line(fmt::format("^upcall {} {} of endpoint {} exited {}: {}", id, method, e.label,
                          r.exit_code, r.output));
  auto txn = db_.begin(nullptr, "endpoint upcall");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  bytes = db_.read(db::Table::kEndpoints, oid.key());
  if (bytes) {
    e = records::decode_endpoint(oid.key(), *bytes);
    e.last_upcall = std::max(e.last_upcall, id);
    txn->put(db::Table::kEndpoints, oid.key(), records::encode_endpoint(e));
    note_change(e.gateway, e.gateway);
  }
  txn->commit();
  return true;
}

// A gateway that does not answer is skipped for a while: it takes a fresh copy of its endpoints
// when it starts again (gateway_started), so nothing is lost by not telling it.
void EndpointManager::tell_forget(const std::string& label, const std::string& oid,
                                  const std::string& redirect) {
  auto g = gateway(label);
  if (!g || g->ior.empty() || !calls_) return;
  post([this, g = std::move(*g), oid, redirect] {
    const auto now = std::chrono::steady_clock::now();
    if (auto it = silent_.find(g.label); it != silent_.end() && it->second > now) return;
    try {
      calls_->forget(g, oid, redirect);
    } catch (const Unreachable& e) {
      silent_[g.label] = now + timeouts::kGatewaySilence;
      log_.line(fmt::format("^gateway {} not told that endpoint {} left it: {}", g.label, oid,
                            e.what()));
    } catch (const std::exception& e) {
      log_.line(fmt::format("^gateway {} not told that endpoint {} left it: {}", g.label, oid,
                            e.what()));
    }
  });
}

void EndpointManager::post(std::function<void()> job) {
  std::lock_guard lock(jobs_mu_);
  if (stopping_) return;
  jobs_.push_back(std::move(job));
  if (!worker_.joinable()) worker_ = std::thread([this] { run_jobs(); });
  jobs_cv_.notify_one();
}

void EndpointManager::run_jobs() {
  std::unique_lock lock(jobs_mu_);
  for (;;) {
    jobs_cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    auto job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

void EndpointManager::start() {
  if (self_.od != kTmrDispatcher || running_) return;
  running_.emplace(threads_, manager_oid(), "endpoint_manager", "run", true);
}

void EndpointManager::stop() {
  running_.reset();
  {
    std::lock_guard lock(jobs_mu_);
    stopping_ = true;
  }
  jobs_cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

EndpointRecord EndpointManager::migrate(const std::string& name, const std::string& to) {
  auto txn = db_.begin(nullptr, "endpoint migrate");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  auto e = endpoint(name);
  if (!e) fail(fmt::format("no endpoint {} (see wep ls)", name));
  if (!gateway(to)) fail(fmt::format("no gateway {} (see wgateway)", to));
  const std::string from = e->gateway;
  e->gateway = to;
  txn->put(db::Table::kEndpoints, Oid::parse(e->oid).key(), records::encode_endpoint(*e));
  note_change(from, to);
  txn->commit();
  log_.line(fmt::format("endpoint {} migrated from gateway {} to {}", e->label, from, to));
  if (from != to) {
    const auto g = gateway(to);
    tell_forget(from, e->oid, fmt::format("{}+{}", g->host, g->port));
  }
  return *e;
}

void EndpointManager::endpoints_seen(const std::string& gateway, const std::vector<Seen>& seen) {
  std::vector<EndpointRecord> logged;
  auto txn = db_.begin(nullptr, "endpoint logins seen");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  for (const auto& s : seen) {
    Oid oid;
    if (!Oid::try_parse(s.oid, oid)) continue;
    auto bytes = db_.read(db::Table::kEndpoints, oid.key());
    if (!bytes) continue;
    auto e = records::decode_endpoint(oid.key(), *bytes);
    if (e.gateway != gateway || s.when < e.last_login) continue;  // moved, or older
    e.address = s.address;
    e.last_login = s.when;
    e.login_kind = "normal";
    txn->put(db::Table::kEndpoints, oid.key(), records::encode_endpoint(e));
    logged.push_back(std::move(e));
  }
  if (!logged.empty()) note_change(gateway, gateway);
  txn->commit();
  for (const auto& e : logged)
    after_login("login_policy",
                policy_args({.kind = "normal", .label = e.label, .interp = e.interp,
                             .address = e.address, .via = gateway},
                            e.oid));
}

std::vector<std::string> EndpointManager::set_login_interfaces(const std::string& endpoint,
                                                               const std::string& gateway,
                                                               const std::string& interfaces) {
  if (endpoint.empty() == gateway.empty()) fail("name one endpoint or one gateway");
  try {
    if (parse_gateways(interfaces, 9494).empty()) throw std::invalid_argument("the list is empty");
  } catch (const std::invalid_argument& e) {
    fail(fmt::format("'{}' is not a list of login interfaces (GW[+PORT][:GW[+PORT]...]): {}",
                     interfaces, e.what()));
  }
  std::vector<EndpointRecord> targets;
  auto txn = db_.begin(nullptr, "endpoint login interfaces");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  if (!endpoint.empty()) {
    auto e = this->endpoint(endpoint);
    if (!e) fail(fmt::format("no endpoint {} (see wep ls)", endpoint));
    targets.push_back(std::move(*e));
  } else {
    if (!this->gateway(gateway)) fail(fmt::format("no gateway {} (see wgateway)", gateway));
    targets = endpoints(gateway);
  }
  for (auto& e : targets) {
    e.login_interfaces = interfaces;
    txn->put(db::Table::kEndpoints, Oid::parse(e.oid).key(), records::encode_endpoint(e));
  }
  if (!targets.empty()) note_change(targets.front().gateway, targets.front().gateway);
  txn->commit();
  log_.line(fmt::format("login interfaces of {} endpoint(s) set to {}", targets.size(), interfaces));
  // Then each live endpoint is told; one that is not reached gets them at its next login
  // through the Endpoint Manager.
  std::vector<std::string> lines;
  for (const auto& e : targets) {
    std::string outcome;
    try {
      auto r = downcall(Oid::parse(e.oid), "set_interfaces", {interfaces}, 
                   std::chrono::duration_cast<std::chrono::seconds>(timeouts::kEndpointTell));
      outcome = r.exit_code == 0 ? "the endpoint has them" : fmt::format("the endpoint refused: {}", r.output);
    } catch (const std::exception& x) {
      outcome = fmt::format("not reached now ({}); it gets them at its next login through the "
                            "Endpoint Manager", x.what());
    }
    while (!outcome.empty() && outcome.back() == '\n') outcome.pop_back();
    lines.push_back(fmt::format("{}: login interfaces {}: {}.", e.label, interfaces, outcome));
  }
  return lines;
}

void EndpointManager::remove_endpoint(const std::string& name) {
  auto txn = db_.begin(nullptr, "endpoint delete");
  txn->lock(db::Table::kEndpoints, kLock, db::LockMode::kWrite);
  auto e = endpoint(name);
  if (!e) fail(fmt::format("no endpoint {} (see wep ls)", name));
  const std::string key = Oid::parse(e->oid).key();
  txn->erase(db::Table::kEndpoints, key);
  txn->erase(db::Table::kObjects, key);
  txn->erase(db::Table::kNames, "Endpoint/" + e->label);
  note_change(e->gateway, "");
  txn->commit();
  log_.line(fmt::format("endpoint {} ({}) deleted", e->label, e->oid));
  tell_forget(e->gateway, e->oid, "");
}

}  // namespace openoserv
