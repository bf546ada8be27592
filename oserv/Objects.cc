// Object dispatch: forwarding to the owner, built-in methods, method programs, names, classes.
#include "Objects.h"

#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>

#include <fmt/core.h>

#include "AttributeCodec.h"
#include "TextFile.h"

namespace openoserv {

namespace {

template <typename T>
bool parse_number(std::string_view s, T& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

void require_name(const std::string& what, const std::string& text) {
  if (text.empty() || text.find('/') != std::string::npos ||
      text.find_first_of(" \t\n#") != std::string::npos)
    fail(fmt::format("'{}' is not a valid {} (no blanks, '/' or '#')", text, what));
}

// Installed class methods, as the classes table stores them: "method\tprogram\n" lines.
std::string encode_methods(const std::vector<OServ::MethodDef>& methods) {
  std::string out;
  for (const auto& m : methods) out += fmt::format("{}\t{}\n", m.name.in(), m.program.in());
  return out;
}

std::vector<OServ::MethodDef> decode_methods(const std::string& text) {
  std::vector<OServ::MethodDef> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t tab = line.find('\t');
    if (tab == std::string::npos) continue;
    OServ::MethodDef def;
    def.name = line.substr(0, tab).c_str();
    def.program = line.substr(tab + 1).c_str();
    out.push_back(def);
  }
  return out;
}

// Runs `f` on the TMR server (dispatcher 1), turning an unreachable one into Failed.
template <typename F>
auto at_tmr(Region& region, const char* what, F&& f) {
  return region.call(1, 10000, fmt::format("{} is kept at the TMR server, and ", what),
                     std::forward<F>(f));
}

}  // namespace

// Both are on every call's path: plain conversions, no format strings.
std::string Oid::key() const {
  char buf[3 * 21];
  char* p = std::to_chars(buf, buf + 21, region).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 21, od).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 21, n).ptr;
  return std::string(buf, p);
}
std::string Oid::text() const { return key() + '#' + cls + '#'; }

Oid Oid::parse(const std::string& text) {
  Oid oid;
  const size_t hash = text.find('#');
  const std::string numbers = text.substr(0, hash);
  const size_t d1 = numbers.find('.'), d2 = numbers.find('.', d1 + 1);
  bool ok = d1 != std::string::npos && d2 != std::string::npos &&
            parse_number(std::string_view(numbers).substr(0, d1), oid.region) &&
            parse_number(std::string_view(numbers).substr(d1 + 1, d2 - d1 - 1), oid.od) &&
            parse_number(std::string_view(numbers).substr(d2 + 1), oid.n) && oid.od > 0;
  if (ok && hash != std::string::npos) {
    if (text.size() < hash + 2 || text.back() != '#') ok = false;
    else oid.cls = text.substr(hash + 1, text.size() - hash - 2);
  }
  if (!ok)
    fail(fmt::format("'{}' is not an object id (<region>.<dispatcher>.<object>#<class>#)", text));
  return oid;
}

Objects::Objects(DispatcherState& state, MethodThreads& threads, unsigned method_timeout_ms)
    : state_(state), threads_(threads), method_timeout_ms_(method_timeout_ms) {}

OServ::MethodResult Objects::invoke(const std::string& oid_text, const std::string& method,
                                    const std::vector<std::string>& args) {
  const Oid oid = Oid::parse(oid_text);
  if (oid.region != state_.region)
    fail(fmt::format("object {} belongs to region {}, not to this region ({})", oid_text,
                     oid.region, state_.region));
  if (oid.od != state_.od) {
    // The owner runs it; this dispatcher waits (rwait), as long as the method takes.
    MethodThreads::Scope thread(threads_, oid_text, method, "rwait");
    OServ::StringList wire_args;
    wire_args.length(static_cast<CORBA::ULong>(args.size()));
    for (CORBA::ULong i = 0; i < args.size(); ++i) wire_args[i] = args[i].c_str();
    return state_.peers->call(
        oid.od, method_timeout_ms_, [&] { return fmt::format("{} on {}: ", method, oid_text); },
        [&](OServ::Dispatcher_ptr owner) {
          OServ::MethodResult_var result =
              owner->invoke(oid_text.c_str(), method.c_str(), wire_args);
          return OServ::MethodResult(result.in());
        });
  }
  auto cls = state_.db->read(db::Table::kObjects, oid.key());
  if (!cls) fail(fmt::format("object {} does not exist on dispatcher {}", oid_text, state_.od));
  if (!oid.cls.empty() && oid.cls != *cls)
    fail(fmt::format("object {} is of class {}, not {}", oid.key(), *cls, oid.cls));
  Oid full = oid;
  full.cls = *cls;
  OServ::MethodResult result;
  if (run_builtin(full, method, args, result)) return result;
  return run_installed(full, method, args);
}

bool Objects::run_builtin(const Oid& oid, const std::string& method,
                          const std::vector<std::string>& args, OServ::MethodResult& result) {
  auto done = [&](int code, std::string output) {
    result.exit_code = code;
    result.output = output.c_str();
    return true;
  };
  if (oid.cls == kManagedNodeClass) {
    if (method == "ping") {
      MethodThreads::Scope thread(threads_, oid.text(), method, "run");
      return done(0, "alive\n");
    }
    if (method == "hostname") {
      MethodThreads::Scope thread(threads_, oid.text(), method, "run");
      return done(0, state_.instance.logical_host + "\n");
    }
    if (method == "run_script") {
      if (args.size() != 1) fail("run_script takes one argument: the script");
      result = run_script(oid, args[0]);
      return true;
    }
    return false;
  }
  if (oid.cls == kTaskLibraryClass) {
    if (method == "add_task") {
      if (args.size() != 2) fail("add_task takes two arguments: task name and script");
      require_name("task name", args[0]);
      MethodThreads::Scope thread(threads_, oid.text(), method, "run");
      CORBA::Any script;
      script <<= args[1].c_str();
      auto txn = state_.db->begin(nullptr, fmt::format("method thread {}", thread.id()));
      txn->put(db::Table::kAttributes, oid.key() + "/task:" + args[0], encode_attribute(script));
      txn->commit();
      return done(0, fmt::format("task {} stored in {}\n", args[0], oid.text()));
    }
    if (method == "list_tasks") {
      MethodThreads::Scope thread(threads_, oid.text(), method, "run");
      std::string out;
      const std::string prefix = oid.key() + "/task:";
      for (const auto& [key, value] : state_.db->scan(db::Table::kAttributes))
        if (key.rfind(prefix, 0) == 0) out += key.substr(prefix.size()) + "\n";
      return done(0, out);
    }
    if (method == "run_task") {
      result = run_task(oid, args);
      return true;
    }
    return false;
  }
  return false;
}

OServ::MethodResult Objects::run_installed(const Oid& oid, const std::string& method,
                                           const std::vector<std::string>& args) {
  auto methods = class_methods(oid.cls);
  std::string program;
  for (const auto& m : methods)
    if (method == m.name.in()) program = m.program.in();
  if (program.empty())
    fail(fmt::format("class {} has no method {} (install it with wclass)", oid.cls, method));
  MethodThreads::Scope thread(threads_, oid.text(), method, "run");
  std::vector<std::string> argv = {program, oid.text(), method};
  argv.insert(argv.end(), args.begin(), args.end());
  try {
    auto r = run_program(argv,
                         {"OSERV=" + state_.instance.where.id, "OSERV_OID=" + oid.text(),
                          "OSERV_METHOD=" + method,
                          fmt::format("OSERV_DISPATCHER={}", state_.od),
                          fmt::format("OSERV_METHOD_THREAD={}", thread.id())},
                         thread);
    OServ::MethodResult result;
    result.exit_code = r.exit_code;
    result.output = r.output.c_str();
    return result;
  } catch (const std::runtime_error& e) {
    fail(e.what());
  }
}

OServ::MethodResult Objects::run_script(const Oid& oid, const std::string& script) {
  MethodThreads::Scope thread(threads_, oid.text(), "run_script", "run");
  const std::string dir = state_.instance.dbdir + "/tmp";
  make_directories(dir);
  std::string path = dir + "/task.XXXXXX";
  int fd = ::mkstemp(path.data());
  if (fd < 0) fail(fmt::format("cannot create a task file in {}", dir));
  const bool written = ::write(fd, script.data(), script.size()) ==
                       static_cast<ssize_t>(script.size());
  ::fchmod(fd, 0700);
  ::close(fd);
  if (!written) {
    ::unlink(path.c_str());
    fail(fmt::format("cannot write the task file {}", path));
  }
  try {
    auto r = run_program({"/bin/sh", path},
                         {"OSERV=" + state_.instance.where.id, "OSERV_OID=" + oid.text()}, thread);
    ::unlink(path.c_str());
    OServ::MethodResult result;
    result.exit_code = r.exit_code;
    result.output = r.output.c_str();
    return result;
  } catch (const std::runtime_error& e) {
    ::unlink(path.c_str());
    fail(e.what());
  }
}

OServ::MethodResult Objects::run_task(const Oid& oid, const std::vector<std::string>& args) {
  if (args.size() != 2) fail("run_task takes two arguments: task name and managed node label");
  std::string script;
  {
    MethodThreads::Scope thread(threads_, oid.text(), "run_task", "run");
    auto bytes = state_.db->read(db::Table::kAttributes, oid.key() + "/task:" + args[0]);
    if (!bytes) fail(fmt::format("task library {} has no task {}", oid.text(), args[0]));
    CORBA::Any any;
    const char* text = nullptr;
    try {
      decode_attribute(*bytes, any);
    } catch (const std::runtime_error& e) {
      fail(fmt::format("task {} is corrupt: {}", args[0], e.what()));
    }
    if (!(any >>= text)) fail(fmt::format("task {} is not a script", args[0]));
    script = text;
  }
  const std::string node = lookup("ManagedNode", args[1]);
  // The node runs it; the invoke below is this dispatcher's rwait thread.
  return invoke(node, "run_script", {script});
}

std::string Objects::create_object(const std::string& cls, const std::string& resource,
                                   const std::string& label) {
  require_name("class", cls);
  require_name("resource", resource);
  require_name("label", label);
  // Reserve the name first: a taken label leaves no orphan object behind.
  Oid oid{state_.region, state_.od, 0, cls};
  {
    std::lock_guard guard(create_mu_);
    auto next = state_.db->get_meta("next_object");
    std::uint64_t n = 2;  // 1 is the ManagedNode object
    if (next && !parse_number(std::string_view(*next), n))
      fail(fmt::format("database {}: meta next_object is corrupt", state_.instance.dbdir));
    oid.n = n;
    auto txn = state_.db->begin(nullptr, "create_object");
    txn->put(db::Table::kMeta, "next_object", std::to_string(n + 1));
    txn->commit();
  }
  register_name(resource, label, oid.text());
  auto txn = state_.db->begin(nullptr, "create_object");
  txn->put(db::Table::kObjects, oid.key(), cls);
  txn->commit();
  state_.log->line(fmt::format("created {} as {}/{}", oid.text(), resource, label));
  return oid.text();
}

std::string Objects::lookup(const std::string& resource, const std::string& label) {
  if (!state_.peers->is_tmr())
    return at_tmr(*state_.peers, "the name registry", [&](OServ::Dispatcher_ptr tmr) {
      CORBA::String_var oid = tmr->lookup(resource.c_str(), label.c_str());
      return std::string(oid.in());
    });
  auto oid = state_.db->read(db::Table::kNames, resource + "/" + label);
  if (!oid) {
    // "black" also finds "black.itsc.austin.ibm.com", as Tivoli's labels do.
    const std::string prefix = resource + "/" + label + ".";
    for (const auto& [key, value] : state_.db->scan(db::Table::kNames))
      if (key.rfind(prefix, 0) == 0) return value;
    fail(fmt::format("no {} named {} in region {} (see wlookup -r {} -a)", resource, label,
                     state_.region, resource));
  }
  return *oid;
}

std::vector<std::string> Objects::list_names(const std::string& resource) {
  if (!state_.peers->is_tmr())
    return at_tmr(*state_.peers, "the name registry", [&](OServ::Dispatcher_ptr tmr) {
      OServ::StringList_var names = tmr->list_names(resource.c_str());
      std::vector<std::string> out;
      for (CORBA::ULong i = 0; i < names->length(); ++i) out.emplace_back(names[i].in());
      return out;
    });
  std::vector<std::string> out;
  const std::string prefix = resource + "/";
  for (const auto& [key, value] : state_.db->scan(db::Table::kNames))
    if (key.rfind(prefix, 0) == 0) out.push_back(key.substr(prefix.size()) + " " + value);
  return out;
}

void Objects::register_name(const std::string& resource, const std::string& label,
                            const std::string& oid) {
  require_name("resource", resource);
  require_name("label", label);
  Oid::parse(oid);
  if (!state_.peers->is_tmr())
    return at_tmr(*state_.peers, "the name registry", [&](OServ::Dispatcher_ptr tmr) {
      tmr->register_name(resource.c_str(), label.c_str(), oid.c_str());
    });
  auto txn = state_.db->begin(nullptr, "register_name");
  const std::string key = resource + "/" + label;
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
  if (!state_.peers->is_tmr())
    return at_tmr(*state_.peers, "the class registry", [&](OServ::Dispatcher_ptr tmr) {
      tmr->install_method(cls.c_str(), method.c_str(), program.c_str());
    });
  auto methods = decode_methods(state_.db->read(db::Table::kClasses, cls).value_or(""));
  bool replaced = false;
  for (auto& m : methods)
    if (method == m.name.in()) {
      m.program = program.c_str();
      replaced = true;
    }
  if (!replaced) {
    OServ::MethodDef def;
    def.name = method.c_str();
    def.program = program.c_str();
    methods.push_back(def);
  }
  store_class(cls, methods);
  state_.log->line(fmt::format("class {}: method {} is {}", cls, method, program));
  // Every dispatcher gets the class now; one that is down fetches it at its first call.
  OServ::MethodDefs wire;
  wire.length(static_cast<CORBA::ULong>(methods.size()));
  for (CORBA::ULong i = 0; i < methods.size(); ++i) wire[i] = methods[i];
  for (const auto& r : state_.db->odlist()) {
    if (r.od == state_.od) continue;
    try {
      OServ::Dispatcher_var d = state_.peers->dispatcher(r.od, 3000);
      d->class_update(cls.c_str(), wire);
    } catch (const CORBA::Exception& e) {
      state_.log->line(fmt::format("^class {} not sent: {}", cls, state_.peers->unreachable(r.od, e)));
    }
  }
}

void Objects::store_class(const std::string& cls, const std::vector<OServ::MethodDef>& methods) {
  auto txn = state_.db->begin(nullptr, "class");
  txn->put(db::Table::kClasses, cls, encode_methods(methods));
  txn->commit();
}

std::vector<OServ::MethodDef> Objects::class_methods(const std::string& cls) {
  if (auto local = state_.db->read(db::Table::kClasses, cls)) return decode_methods(*local);
  if (state_.peers->is_tmr()) return {};
  // Installed while this node was down: fetch it once from the TMR server.
  auto methods = at_tmr(*state_.peers, "the class registry", [&](OServ::Dispatcher_ptr tmr) {
    OServ::MethodDefs_var defs = tmr->class_methods(cls.c_str());
    std::vector<OServ::MethodDef> out;
    for (CORBA::ULong i = 0; i < defs->length(); ++i) out.push_back(defs[i]);
    return out;
  });
  if (!methods.empty()) store_class(cls, methods);
  return methods;
}

void Objects::ensure_managed_node() {
  const Oid oid{state_.region, state_.od, 1, kManagedNodeClass};
  if (!state_.db->read(db::Table::kObjects, oid.key())) {
    auto txn = state_.db->begin(nullptr, "managed node object");
    txn->put(db::Table::kObjects, oid.key(), kManagedNodeClass);
    txn->commit();
  }
  auto rec = state_.db->od(state_.od);
  const std::string label =
      rec && !rec->hostnames.empty() ? rec->hostnames.front() : state_.instance.logical_host;
  register_name("ManagedNode", label, oid.text());
}

}  // namespace openoserv
