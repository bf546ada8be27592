// Object dispatch: relaying to the owner, built-in methods, method programs, names, classes.
#include "Objects.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/core.h>

#include "Failure.h"
#include "GatewayHost.h"
#include "Numbers.h"
#include "Records.h"
#include "TextFile.h"
#include "Timeouts.h"
#include "UniqueFd.h"

namespace openoserv {

namespace {

void require_name(const std::string& what, const std::string& text) {
  if (text.empty() || text.find('/') != std::string::npos ||
      text.find_first_of(" \t\n#") != std::string::npos)
    fail(fmt::format("'{}' is not a valid {} (no blanks, '/' or '#')", text, what));
}

MethodOutcome done(std::string output) { return {0, std::move(output)}; }

constexpr const char* kNextObject = "next_object";  // meta: the next object number
constexpr const char* kTaskPrefix = "/task:";       // attributes: "<object key>/task:<name>"

}  // namespace

Objects::Objects(const DispatcherInfo& self, db::Database& db, OservLog& log, Region& region,
                 Peers& peers, MethodThreads& threads, Programs& programs)
    : self_(self),
      db_(db),
      log_(log),
      region_(region),
      peers_(peers),
      threads_(threads),
      programs_(programs) {}

template <typename F>
auto Objects::at_tmr(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const Unreachable& e) {
    fail(fmt::format("{} is kept at the TMR server, and {}", what, e.what()));
  }
}

std::optional<Objects::Location> Objects::locate(const std::string& text) {
  Location where;
  if (!Oid::try_parse(text, where.oid) || where.oid.region != self_.region) return std::nullopt;
  where.local = where.oid.od == self_.od;
  where.cls = where.oid.cls;
  if (!where.local) {
    // Named without its class: only the owner knows it (one call, made only for such OIDs).
    // An owner that does not answer leaves the class unknown: calls then report that owner.
    if (where.cls.empty()) {
      try {
        auto r = peers_.invoke(where.oid.od, text, "class_name", {}, timeouts::kTmrCall);
        if (r.exit_code != 0) return std::nullopt;
        where.cls = r.output.substr(0, r.output.find('\n'));
      } catch (const Unreachable&) {
      } catch (const Failure&) {
        return std::nullopt;  // the owner has no such object
      }
    }
    return where;
  }
  auto cls = db_.read(db::Table::kObjects, where.oid.key());
  if (!cls || (!where.cls.empty() && where.cls != *cls)) return std::nullopt;
  where.cls = *cls;
  return where;
}

namespace {
// Who asked for the method running on this thread (set by invoke, read by the programs' env).
thread_local const std::string* current_caller = nullptr;
constexpr const char* kDefaultMethodUser = "nobody";
// One argument to sh -c: Linux's limit on one argument (MAX_ARG_STRLEN) less a margin.
constexpr size_t kMaxScript = 128 * 1024 - 1024;
}  // namespace

std::string Objects::method_user() {
  return db_.get_meta(db::kMetaMethodUser).value_or(kDefaultMethodUser);
}

std::string Objects::set_method_user(const std::string& user) {
  try {
    RunAs::lookup(user);
  } catch (const ProgramError& e) {
    fail(fmt::format("user {} does not exist on this host: method programs could not run as it",
                     user));
  }
  db_.put_meta(db::kMetaMethodUser, user);
  log_.line(fmt::format("method programs run as {}", user));
  return fmt::format("Method programs of dispatcher {} run as {}.", self_.od, user);
}

std::optional<RunAs> Objects::method_account() {
  try {
    return RunAs::lookup(method_user());
  } catch (const ProgramError& e) {
    fail(e.what());
  }
}

std::vector<std::string> Objects::program_env(const Oid& oid, const std::string& method) {
  return {"OSERV=" + self_.id(), "OSERV_OID=" + oid.text(), "OSERV_METHOD=" + method,
          fmt::format("OSERV_DISPATCHER={}", self_.od),
          fmt::format("OSERV_CALLER={}", current_caller ? *current_caller : std::string())};
}

MethodOutcome Objects::invoke(const std::string& oid_text, const std::string& method,
                              const std::vector<std::string>& args, const Principal* caller) {
  if (caller)
    if (auto why = method_refusal(*caller, method)) throw PermissionDenied(*why);
  const std::string name = !caller                        ? std::string()
                           : caller->on_behalf_of.empty() ? caller->describe()
                                                          : caller->on_behalf_of;
  struct CallerScope {
    const std::string* saved = current_caller;
    explicit CallerScope(const std::string* c) {
      if (!c->empty()) current_caller = c;
    }
    ~CallerScope() { current_caller = saved; }
  } scope(&name);
  const Oid oid = Oid::parse(oid_text);
  if (oid.region != self_.region)
    fail(fmt::format("object {} belongs to region {}, not to this region ({})", oid_text,
                     oid.region, self_.region));
  if (oid.od != self_.od) {
    // The owner runs it; this dispatcher waits (rwait), as long as the method takes.
    MethodThreads::Scope thread(threads_, oid_text, method, "rwait");
    try {
      // The owner ends a program that runs past the limit and reports it; the caller waits
      // for that report rather than give up at the same moment.
      return peers_.invoke(oid.od, oid_text, method, args,
                           programs_.limit() + timeouts::kProgramGrace + timeouts::kPush);
    } catch (const Unreachable& e) {
      // An endpoint whose session is at this node's gateway is still reached without the
      // TMR server (where endpoint objects live).
      if (oid.od == kTmrDispatcher && downcall_here_ &&
          (oid.cls.empty() || oid.cls == kEndpointClass)) {
        Oid endpoint = oid;
        endpoint.cls = kEndpointClass;
        if (auto r = downcall_here_(endpoint, method, args)) return *r;
      }
      fail(fmt::format("{} on {}: {}", method, oid_text, e.what()));
    }
  }
  auto cls = db_.read(db::Table::kObjects, oid.key());
  if (!cls) fail(fmt::format("object {} does not exist on dispatcher {}", oid_text, self_.od));
  if (!oid.cls.empty() && oid.cls != *cls)
    fail(fmt::format("object {} is of class {}, not {}", oid.key(), *cls, oid.cls));
  Oid full = oid;
  full.cls = *cls;
  if (auto result = run_builtin(full, method, args)) return *result;
  if (full.cls == kEndpointClass && downcall_) return downcall_(full, method, args);
  return run_installed(full, method, args);
}

std::optional<MethodOutcome> Objects::run_builtin(const Oid& oid, const std::string& method,
                                                  const std::vector<std::string>& args) {
  auto quick = [&](std::string output) {
    MethodThreads::Scope thread(threads_, oid.text(), method, "run");
    return done(std::move(output));
  };
  if (method == "oid") return quick(oid.text() + "\n");
  if (method == "class_name") return quick(oid.cls + "\n");
  if (oid.cls == kManagedNodeClass) {
    if (method == "ping") return quick("alive\n");
    if (method == "hostname") return quick(self_.instance.logical_host + "\n");
    if (method == "run_script") {
      if (args.size() != 1) fail("run_script takes one argument: the script");
      return run_script(oid, args[0]);
    }
    if (method == "host_gateway" && gateway_host_) {
      const auto port = args.size() == 2 ? parse_number<std::uint16_t>(args[1]) : std::nullopt;
      if (!port) fail("host_gateway takes two arguments: the gateway's label and port");
      MethodThreads::Scope thread(threads_, oid.text(), method, "run");
      return done(gateway_host_->create(args[0], *port) + "\n");
    }
  }
  if (oid.cls == kGatewayClass && gateway_host_) {
    auto action = [&](auto f) {
      MethodThreads::Scope thread(threads_, oid.text(), method, "run");
      return done(f() + "\n");
    };
    if (method == "start_gateway") return action([&] { return gateway_host_->start(oid); });
    if (method == "stop_gateway") return action([&] { return gateway_host_->stop(oid); });
    if (method == "gateway_status") return action([&] { return gateway_host_->status(oid); });
  }
  if (oid.cls == kTaskLibraryClass) return run_task_library(oid, method, args);
  return std::nullopt;
}

std::optional<MethodOutcome> Objects::run_task_library(const Oid& oid, const std::string& method,
                                                       const std::vector<std::string>& args) {
  const std::string prefix = oid.key() + kTaskPrefix;
  if (method == "add_task") {
    if (args.size() != 2) fail("add_task takes two arguments: task name and script");
    require_name("task name", args[0]);
    MethodThreads::Scope thread(threads_, oid.text(), method, "run");
    auto txn = db_.begin(nullptr, fmt::format("method thread {}", thread.id()));
    txn->put(db::Table::kAttributes, prefix + args[0], records::encode_string(args[1]));
    txn->commit();
    return done(fmt::format("task {} stored in {}\n", args[0], oid.text()));
  }
  if (method == "list_tasks") {
    MethodThreads::Scope thread(threads_, oid.text(), method, "run");
    std::string out;
    for (const auto& [key, value] : db_.scan_prefix(db::Table::kAttributes, prefix))
      out += key.substr(prefix.size()) + "\n";
    return done(out);
  }
  if (method == "run_task") return run_task(oid, args);
  return std::nullopt;
}

std::optional<MethodOutcome> Objects::run_policy(const std::string& oid_text,
                                                 const std::string& method,
                                                 const std::vector<std::string>& args,
                                                 std::chrono::milliseconds limit) {
  Oid oid = Oid::parse(oid_text);
  auto cls = db_.read(db::Table::kObjects, oid.key());
  if (!cls) fail(fmt::format("object {} does not exist on dispatcher {}", oid_text, self_.od));
  oid.cls = *cls;
  const auto methods = class_methods(oid.cls);
  if (std::none_of(methods.begin(), methods.end(), [&](const auto& m) { return m.name == method; }))
    return std::nullopt;
  return run_installed(oid, method, args, limit);
}

MethodOutcome Objects::run_installed(const Oid& oid, const std::string& method,
                                     const std::vector<std::string>& args,
                                     std::optional<std::chrono::milliseconds> limit) {
  std::string program;
  for (const auto& m : class_methods(oid.cls))
    if (m.name == method) program = m.program;
  if (program.empty())
    fail(fmt::format("class {} has no method {} (install it with wclass)", oid.cls, method));
  MethodThreads::Scope thread(threads_, oid.text(), method, "run");
  std::vector<std::string> argv = {program, oid.text(), method};
  argv.insert(argv.end(), args.begin(), args.end());
  auto env = program_env(oid, method);
  env.push_back(fmt::format("OSERV_METHOD_THREAD={}", thread.id()));
  try {
    auto r = programs_.run(argv, env, thread, method_account(), limit);
    return {r.exit_code, std::move(r.output)};
  } catch (const ProgramError& e) {
    fail(e.what());
  }
}

// The script is sh's argument (no file: the method account need not read the oserv's files).
MethodOutcome Objects::run_script(const Oid& oid, const std::string& script) {
  if (script.size() > kMaxScript)
    fail(fmt::format("the script is {} bytes; run_script takes at most {} (install a method "
                     "program for longer ones)",
                     script.size(), kMaxScript));
  MethodThreads::Scope thread(threads_, oid.text(), "run_script", "run");
  try {
    auto r = programs_.run({"/bin/sh", "-c", script, "run_script"},
                           program_env(oid, "run_script"), thread, method_account());
    return {r.exit_code, std::move(r.output)};
  } catch (const ProgramError& e) {
    fail(e.what());
  }
}

MethodOutcome Objects::run_task(const Oid& oid, const std::vector<std::string>& args) {
  if (args.size() != 2) fail("run_task takes two arguments: task name and managed node label");
  std::string script;
  {
    MethodThreads::Scope thread(threads_, oid.text(), "run_task", "run");
    auto bytes = db_.read(db::Table::kAttributes, oid.key() + kTaskPrefix + args[0]);
    if (!bytes) fail(fmt::format("task library {} has no task {}", oid.text(), args[0]));
    std::optional<std::string> text;
    try {
      text = records::decode_string(*bytes);
    } catch (const Failure& e) {
      fail(fmt::format("task {} is corrupt: {}", args[0], e.what()));
    }
    if (!text) fail(fmt::format("task {} is not a script", args[0]));
    script = std::move(*text);
  }
  const std::string node = lookup("ManagedNode", args[1]);
  // The node runs it; the invoke below is this dispatcher's rwait thread.
  return invoke(node, "run_script", {script});
}

std::uint64_t Objects::next_object_number(db::Transaction* within) {
  auto txn = db_.begin(within, "create_object");
  txn->lock(db::Table::kMeta, kNextObject, db::LockMode::kWrite);
  const auto stored = txn->get(db::Table::kMeta, kNextObject);
  const auto n = stored ? parse_number<std::uint64_t>(*stored) : kManagedNodeObject + 1;
  if (!n) fail(fmt::format("database {}: meta next_object is corrupt", self_.instance.dbdir));
  txn->put(db::Table::kMeta, kNextObject, std::to_string(*n + 1));
  txn->commit();
  return *n;
}

std::string Objects::create_object(const std::string& cls, const std::string& resource,
                                   const std::string& label, db::Transaction* within) {
  require_name("class", cls);
  require_name("resource", resource);
  require_name("label", label);
  // At the TMR server the number, the name and the object are one transaction (the caller's,
  // or one of its own): nobody sees the name before the object, and a taken label leaves
  // nothing behind. A node names it at the TMR server first, then makes it.
  std::unique_ptr<db::Transaction> own;
  if (!within && region_.is_tmr()) own = db_.begin(nullptr, "create_object");
  db::Transaction* parent = within ? within : own.get();
  const Oid oid{self_.region, self_.od, next_object_number(parent), cls};
  register_name(resource, label, oid.text(), parent);
  auto txn = db_.begin(parent, "create_object");
  txn->put(db::Table::kObjects, oid.key(), cls);
  txn->commit();
  if (own) own->commit();
  // Within a caller's transaction, the caller logs what it made once that commits.
  if (!within) log_.line(fmt::format("created {} as {}/{}", oid.text(), resource, label));
  return oid.text();
}

std::string Objects::lookup(const std::string& resource, const std::string& label) {
  if (!region_.is_tmr())
    return at_tmr("the name registry", [&] { return peers_.lookup(resource, label); });
  if (auto oid = db_.read(db::Table::kNames, resource + "/" + label)) return *oid;
  // "black" also finds "black.itsc.austin.ibm.com", as Tivoli's labels do.
  auto longer = db_.scan_prefix(db::Table::kNames, resource + "/" + label + ".");
  if (!longer.empty()) return longer.front().second;
  fail(fmt::format("no {} named {} in region {} (see wlookup -r {} -a)", resource, label,
                   self_.region, resource));
}

std::vector<NameEntry> Objects::list_names(const std::string& resource) {
  if (!region_.is_tmr())
    return at_tmr("the name registry", [&] { return peers_.list_names(resource); });
  std::vector<NameEntry> out;
  const std::string prefix = resource + "/";
  for (auto& [key, value] : db_.scan_prefix(db::Table::kNames, prefix))
    out.push_back({key.substr(prefix.size()), std::move(value)});
  return out;
}

void Objects::register_name(const std::string& resource, const std::string& label,
                            const std::string& oid, db::Transaction* within) {
  require_name("resource", resource);
  require_name("label", label);
  Oid::parse(oid);
  if (!region_.is_tmr()) {
    if (within) fail("an object is named within a transaction at the TMR server only");
    return at_tmr("the name registry", [&] { peers_.register_name(resource, label, oid); });
  }
  auto txn = db_.begin(within, "register_name");
  const std::string key = resource + "/" + label;
  txn->lock(db::Table::kNames, key, db::LockMode::kWrite);
  if (auto existing = txn->get(db::Table::kNames, key); existing && *existing != oid)
    fail(fmt::format("{} {} is already {}", resource, label, *existing));
  txn->put(db::Table::kNames, key, oid);
  txn->commit();
}

void Objects::install_method(const std::string& cls, const std::string& method,
                             const std::string& program) {
  require_name("class", cls);
  require_name("method", method);
  if (program.empty() || program[0] != '/')
    fail(fmt::format("method program '{}' must be an absolute path", program));
  if (!region_.is_tmr())
    return at_tmr("the class registry", [&] { peers_.install_method(cls, method, program); });
  std::vector<MethodDef> methods;
  {
    auto txn = db_.begin(nullptr, "install_method");
    txn->lock(db::Table::kClasses, cls, db::LockMode::kWrite);
    if (auto bytes = txn->get(db::Table::kClasses, cls)) methods = records::decode_class(cls, *bytes);
    auto it = std::find_if(methods.begin(), methods.end(),
                           [&](const MethodDef& m) { return m.name == method; });
    if (it != methods.end())
      it->program = program;
    else
      methods.push_back({method, program});
    txn->put(db::Table::kClasses, cls, records::encode_class(methods));
    txn->commit();
  }
  log_.line(fmt::format("class {}: method {} is {}", cls, method, program));
  // Every dispatcher gets the class now (by the region's one sender, so in order); one that is
  // down fetches it at its first call.
  region_.push_class(cls);
}

void Objects::store_class(const std::string& cls, const std::vector<MethodDef>& methods) {
  require_name("class", cls);
  auto txn = db_.begin(nullptr, "class");
  txn->put(db::Table::kClasses, cls, records::encode_class(methods));
  txn->commit();
}

std::vector<MethodDef> Objects::class_methods(const std::string& cls) {
  if (auto local = db_.read(db::Table::kClasses, cls)) return records::decode_class(cls, *local);
  if (region_.is_tmr()) return {};
  // Installed while this node was down: fetch it once from the TMR server.
  auto methods = at_tmr("the class registry", [&] { return peers_.class_methods(cls); });
  if (!methods.empty()) store_class(cls, methods);
  return methods;
}

void Objects::ensure_managed_node() {
  const Oid oid{self_.region, self_.od, kManagedNodeObject, kManagedNodeClass};
  if (!db_.read(db::Table::kObjects, oid.key())) {
    auto txn = db_.begin(nullptr, "managed node object");
    txn->put(db::Table::kObjects, oid.key(), kManagedNodeClass);
    txn->commit();
  }
  auto rec = odlist::find(db_, self_.od);
  register_name("ManagedNode", rec ? rec->label() : self_.instance.logical_host, oid.text());
}

}  // namespace openoserv
