// Dispatcher operations. Every database error becomes OServ::Failed with a complete sentence.
#include "DispatcherServant.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <future>

#include <fmt/core.h>

#include "AttributeCodec.h"
#include "LockTable.h"
#include "Version.h"

namespace openoserv {

namespace {

template <typename F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const db::DbError& e) {
    fail(e.what());
  }
}

db::Table parse_table(const char* name) {
  for (int t = 0; t < db::kTableCount; ++t)
    if (std::string(name) == db::table_name(static_cast<db::Table>(t)))
      return static_cast<db::Table>(t);
  fail(fmt::format("unknown table '{}' (meta, odlist, objects, attributes, classes, names)",
                   name));
}

// Where the shared libraries this oserv runs on were loaded from ($LD_LIBRARY_PATH first), the
// counterpart of Tivoli's install library path.
std::string library_path() {
  std::string path;
  if (const char* ld = std::getenv("LD_LIBRARY_PATH"); ld && *ld) path = std::string(ld) + ":";
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&CORBA::ORB_init), &info) && info.dli_fname)
    path += std::filesystem::path(info.dli_fname).parent_path().string() + ":";
  return path;
}

}  // namespace

OServ::StatusBlock* DispatcherServant::status() {
  return guarded([&] {
    auto* s = new OServ::StatusBlock;
    const auto& inst = state_.instance;
    s->instance_id = inst.where.id.c_str();
    s->region = state_.region;
    s->dispatcher = state_.od;
    utsname u{};
    ::uname(&u);
    s->interpreter_type = fmt::format("linux-{}", u.machine).c_str();
    s->database_dir = inst.dbdir.c_str();
    s->install_dir = state_.install_dir.c_str();
    s->encryption_level = "none";
    s->kerberos = false;
    s->remote_client_login = true;
    s->install_library_path = library_path().c_str();
    auto rec = state_.db->od(state_.od);
    s->force_bind = rec ? rec->force_bind : false;
    s->force_bind_active = state_.force_bind_active;
    s->hostname_lookup = false;
    s->version_line = fmt::format("openoserv ({}-{}) #1 {}", OPENOSERV_VERSION, OPENOSERV_GIT,
                                  OPENOSERV_BUILD_DATE)
                          .c_str();
    s->copyright_line = "Copyright openoserv contributors, 2026. MIT License.";
    s->port_range = "(not restricted)";
    s->state_flags = true;
    s->state_checking = true;
    s->state_check_interval = 180;
    s->dynamic_ip = false;
    s->logical_host = inst.logical_host.c_str();
    s->bound_address =
        fmt::format("{}:{}", state_.listen_ip.empty() ? "*" : state_.listen_ip, inst.port).c_str();
    s->port = inst.port;
    s->pid = static_cast<CORBA::ULong>(::getpid());
    s->started = state_.started.c_str();
    s->tmr_link = state_.peers->link_state().c_str();
    return s;
  });
}

OServ::OdEntries* DispatcherServant::odlist() {
  return guarded([&] {
    auto records = state_.db->odlist();
    // Connected: the dispatcher answers a ping from here now (all asked at once, 1 s each).
    std::vector<std::future<bool>> answers;
    for (const auto& r : records) {
      if (r.od == state_.od) {
        answers.push_back(std::async(std::launch::deferred, [] { return true; }));
        continue;
      }
      answers.push_back(std::async(std::launch::async, [this, od = r.od] {
        try {
          OServ::Dispatcher_var d = state_.peers->dispatcher(od, 1000);
          d->ping();
          return true;
        } catch (const CORBA::Exception&) {
          return false;
        }
      }));
    }
    OServ::OdEntries* list = Region::to_wire(records);
    for (CORBA::ULong i = 0; i < records.size(); ++i) (*list)[i].connected = answers[i].get();
    return list;
  });
}

template <typename Edit, typename Forward>
char* DispatcherServant::edit_odlist(CORBA::ULong od, const char* what, Edit&& edit,
                                     Forward&& forward, bool notify) {
  auto& region = *state_.peers;
  if (!region.is_tmr())
    return region.call(1, 10000, fmt::format("{} is made at the TMR server, and ", what),
                       std::forward<Forward>(forward));
  return guarded([&] {
    std::vector<db::OdRecord> targets;
    if (od == 0) {
      targets = state_.db->odlist();
    } else if (auto rec = state_.db->od(od)) {
      targets.push_back(*rec);
    } else {
      fail(fmt::format("dispatcher {} is not in the odlist of region {}; see 'odadmin odlist'", od,
                       state_.region));
    }
    std::string message;
    for (auto& r : targets) message = edit(r);
    for (const auto& r : targets) state_.db->put_od(r);
    state_.log->line(what + std::string(": ") + message);
    if (notify) region.push_odlist();
    return CORBA::string_dup(message.c_str());
  });
}

char* DispatcherServant::set_force_bind(CORBA::Boolean on, CORBA::ULong od) {
  const char* value = on ? "TRUE" : "FALSE";
  std::string which = od ? std::to_string(od) : "all";
  return edit_odlist(
      od, "set_force_bind",
      [&](db::OdRecord& r) {
        r.force_bind = on;
        return fmt::format("Force socket bind set to {} for dispatcher(s) {}. Restart the "
                           "oserv(s) for the change to take effect.",
                           value, which);
      },
      [&](OServ::Dispatcher_ptr tmr) { return tmr->set_force_bind(on, od); });
}

namespace {
void require_ipv4(const char* ip) {
  in_addr a{};
  if (::inet_pton(AF_INET, ip, &a) != 1) fail(fmt::format("'{}' is not an IPv4 address", ip));
}
void require_address(const db::OdRecord& r, const char* ip) {
  if (r.ip != ip)
    fail(fmt::format("dispatcher {} has the address {}, not {}; see 'odadmin odlist'", r.od, r.ip,
                     ip));
}
}  // namespace

char* DispatcherServant::change_ip(CORBA::ULong od, const char* ipaddr, CORBA::Boolean notify) {
  require_ipv4(ipaddr);
  if (od == 0) fail("change_ip needs one dispatcher number");
  return edit_odlist(
      od, "change_ip",
      [&](db::OdRecord& r) {
        std::string old = r.ip;
        r.ip = ipaddr;
        return fmt::format("Dispatcher {} address changed from {} to {}.", r.od, old, ipaddr);
      },
      [&](OServ::Dispatcher_ptr tmr) { return tmr->change_ip(od, ipaddr, notify); }, notify);
}

char* DispatcherServant::add_hostname_alias(CORBA::ULong od, const char* ipaddr,
                                            const char* name) {
  require_ipv4(ipaddr);
  if (od == 0 || !*name) fail("add_hostname_alias needs a dispatcher number and a name");
  return edit_odlist(
      od, "add_hostname_alias",
      [&](db::OdRecord& r) {
        require_address(r, ipaddr);
        if (std::find(r.hostnames.begin(), r.hostnames.end(), name) == r.hostnames.end())
          r.hostnames.emplace_back(name);
        return fmt::format("Host name {} added to dispatcher {} ({}).", name, r.od, ipaddr);
      },
      [&](OServ::Dispatcher_ptr tmr) { return tmr->add_hostname_alias(od, ipaddr, name); });
}

char* DispatcherServant::delete_hostname_alias(CORBA::ULong od, const char* ipaddr,
                                               const char* name) {
  require_ipv4(ipaddr);
  if (od == 0 || !*name) fail("delete_hostname_alias needs a dispatcher number and a name");
  return edit_odlist(
      od, "delete_hostname_alias",
      [&](db::OdRecord& r) {
        require_address(r, ipaddr);
        auto it = std::find(r.hostnames.begin(), r.hostnames.end(), name);
        if (it == r.hostnames.end())
          fail(fmt::format("dispatcher {} has no host name {}", r.od, name));
        r.hostnames.erase(it);
        return fmt::format("Host name {} deleted from dispatcher {} ({}).", name, r.od, ipaddr);
      },
      [&](OServ::Dispatcher_ptr tmr) { return tmr->delete_hostname_alias(od, ipaddr, name); });
}

CORBA::ULong DispatcherServant::register_node(const char* hostname, const char* ipaddr,
                                              CORBA::UShort port, CORBA::Boolean force_bind,
                                              CORBA::ULong& region, OServ::OdEntries_out odlist) {
  if (!state_.peers->is_tmr())
    fail(fmt::format("dispatcher {} is a managed node; register with the TMR server "
                     "(dispatcher 1)",
                     state_.od));
  require_ipv4(ipaddr);
  if (!*hostname || port == 0) fail("a managed node needs a host name and a port");
  return guarded([&] {
    std::lock_guard guard(registration_mu_);
    auto records = state_.db->odlist();
    for (const auto& r : records)
      if (r.ip == ipaddr && r.port == port)
        fail(fmt::format("{}:{} is already dispatcher {} of region {}", ipaddr, port, r.od,
                         state_.region));
    std::uint32_t od = 1;
    for (const auto& r : records) od = std::max(od, r.od + 1);
    state_.db->put_od({.od = od, .port = port, .ip = ipaddr, .hostnames = {hostname},
                       .force_bind = static_cast<bool>(force_bind)});
    state_.log->line(fmt::format("managed node {} ({}:{}) joined region {} as dispatcher {}",
                                 hostname, ipaddr, port, state_.region, od));
    region = state_.region;
    odlist = Region::to_wire(state_.db->odlist());
    state_.peers->push_odlist();
    return static_cast<CORBA::ULong>(od);
  });
}

OServ::OdEntries* DispatcherServant::node_started(CORBA::ULong od, const char* ipaddr,
                                                  CORBA::UShort port) {
  if (!state_.peers->is_tmr())
    fail(fmt::format("dispatcher {} is not the TMR server", state_.od));
  return guarded([&] {
    auto rec = state_.db->od(od);
    if (!rec)
      fail(fmt::format("dispatcher {} is not in the odlist of region {}", od, state_.region));
    state_.log->line(fmt::format("dispatcher {} reported in from {}:{}", od, ipaddr, port));
    return Region::to_wire(state_.db->odlist());
  });
}

void DispatcherServant::odlist_update(const OServ::OdEntries& odlist) {
  if (state_.peers->is_tmr())
    fail("the TMR server's odlist is authoritative; edit it with odadmin odlist");
  guarded([&] {
    state_.db->replace_odlist(Region::from_wire(odlist));
    state_.log->line("odlist updated by the TMR server");
  });
}

char* DispatcherServant::ping_od(CORBA::ULong od) {
  if (od == state_.od) return CORBA::string_dup(state_.instance.logical_host.c_str());
  state_.peers->call(od, 3000, "", [](OServ::Dispatcher_ptr d) { d->ping(); });
  auto rec = guarded([&] { return state_.db->od(od); });
  return CORBA::string_dup(rec && !rec->hostnames.empty() ? rec->hostnames.front().c_str() : "");
}

char* DispatcherServant::db_sync() {
  return guarded([&] {
    const bool emptied = state_.db->sync();
    const std::string journal =
        emptied ? "odb.log is empty"
                : fmt::format("odb.log kept ({} bytes): {} transaction(s) open",
                              state_.db->journal_size(), state_.db->transactions().size());
    state_.log->line(fmt::format("db_sync: database synced; {}", journal));
    return CORBA::string_dup(
        fmt::format("Database {} synced; {}.", state_.instance.dbdir, journal).c_str());
  });
}

char* DispatcherServant::shutdown(CORBA::ULong od) {
  auto& region = *state_.peers;
  if (od != 0 && od != state_.od)
    return region.call(od, 10000, "", [od](OServ::Dispatcher_ptr d) { return d->shutdown(od); });
  std::string others;
  if (od == 0) {
    for (const auto& r : guarded([&] { return state_.db->odlist(); })) {
      if (r.od == state_.od) continue;
      try {
        OServ::Dispatcher_var d = region.dispatcher(r.od, 3000);
        CORBA::String_var msg = d->shutdown(r.od);
        others += std::string(msg.in()) + "\n";
      } catch (const CORBA::Exception& e) {
        others += region.unreachable(r.od, e) + "\n";
      }
    }
  }
  state_.log->line(fmt::format("shutdown requested by odadmin (dispatcher {})", state_.od));
  // The main thread owns the orderly stop; it lets this reply go out before the ORB closes.
  ::kill(::getpid(), SIGTERM);
  return CORBA::string_dup(fmt::format("{}Dispatcher {} ({}) is shutting down.", others,
                                       state_.od, state_.instance.where.id)
                               .c_str());
}

OServ::MethodResult* DispatcherServant::invoke(const char* oid, const char* method,
                                               const OServ::StringList& args) {
  std::vector<std::string> list;
  for (CORBA::ULong i = 0; i < args.length(); ++i) list.emplace_back(args[i].in());
  return guarded([&] { return new OServ::MethodResult(objects_.invoke(oid, method, list)); });
}

char* DispatcherServant::create_object(const char* class_name, const char* resource,
                                       const char* label) {
  return guarded(
      [&] { return CORBA::string_dup(objects_.create_object(class_name, resource, label).c_str()); });
}

char* DispatcherServant::lookup(const char* resource, const char* label) {
  return guarded([&] { return CORBA::string_dup(objects_.lookup(resource, label).c_str()); });
}

OServ::StringList* DispatcherServant::list_names(const char* resource) {
  return guarded([&] {
    auto names = objects_.list_names(resource);
    auto* out = new OServ::StringList;
    out->length(static_cast<CORBA::ULong>(names.size()));
    for (CORBA::ULong i = 0; i < names.size(); ++i) (*out)[i] = names[i].c_str();
    return out;
  });
}

void DispatcherServant::register_name(const char* resource, const char* label, const char* oid) {
  guarded([&] { objects_.register_name(resource, label, oid); });
}

void DispatcherServant::install_method(const char* class_name, const char* method,
                                       const char* program) {
  guarded([&] { objects_.install_method(class_name, method, program); });
}

void DispatcherServant::class_update(const char* class_name, const OServ::MethodDefs& methods) {
  guarded([&] {
    std::vector<OServ::MethodDef> list;
    for (CORBA::ULong i = 0; i < methods.length(); ++i) list.push_back(methods[i]);
    objects_.store_class(class_name, list);
  });
}

OServ::MethodDefs* DispatcherServant::class_methods(const char* class_name) {
  return guarded([&] {
    auto list = objects_.class_methods(class_name);
    auto* out = new OServ::MethodDefs;
    out->length(static_cast<CORBA::ULong>(list.size()));
    for (CORBA::ULong i = 0; i < list.size(); ++i) (*out)[i] = list[i];
    return out;
  });
}

OServ::MethodThreads* DispatcherServant::odstat() {
  auto list = threads_.list();
  auto* out = new OServ::MethodThreads;
  out->length(static_cast<CORBA::ULong>(list.size()));
  for (CORBA::ULong i = 0; i < list.size(); ++i) {
    auto& t = (*out)[i];
    t.id = list[i].id;
    t.state = list[i].state.c_str();
    t.started = list[i].started.c_str();
    t.oid = list[i].oid.c_str();
    t.method = list[i].method.c_str();
    t.pid = list[i].pid;
  }
  return out;
}

OServ::StringList* DispatcherServant::health(CORBA::ULong max_method_seconds) {
  std::vector<std::string> problems;
  // The purge empties the journal within --journal-idle-ms; give it a generous margin.
  const auto stale = state_.db->journal_stale_for();
  if (stale > std::chrono::seconds(10))
    problems.push_back(fmt::format("odb.log holds {} bytes with no transaction open for {} s: "
                                   "the journal is not being emptied (check the disk and the "
                                   "oservlog)",
                                   state_.db->journal_size(), stale.count() / 1000));
  for (const auto& [t, age] : threads_.older_than(std::chrono::seconds(max_method_seconds)))
    problems.push_back(fmt::format("method thread {} ({} {} on {}) has been in state {} for {} s, "
                                   "since {}",
                                   t.id, t.method, t.pid ? fmt::format("pid {}", t.pid) : "",
                                   t.oid, t.state, age, t.started));
  auto* out = new OServ::StringList;
  out->length(static_cast<CORBA::ULong>(problems.size()));
  for (CORBA::ULong i = 0; i < problems.size(); ++i) (*out)[i] = problems[i].c_str();
  return out;
}

char* DispatcherServant::ior() { return CORBA::string_dup(state_.ior.c_str()); }

std::shared_ptr<DispatcherServant::OpenTxn> DispatcherServant::find_txn(CORBA::ULongLong id) {
  std::lock_guard guard(txns_mu_);
  auto it = txns_.find(id);
  if (it == txns_.end())
    fail(fmt::format("no open transaction {} on dispatcher {}", state_.db->describe(id),
                     state_.od));
  return it->second;
}

void DispatcherServant::forget_txn(CORBA::ULongLong id) {
  std::lock_guard guard(txns_mu_);
  txns_.erase(id);
}

CORBA::ULongLong DispatcherServant::txn_begin(CORBA::ULongLong parent, const char* label) {
  return guarded([&] {
    auto open = std::make_shared<OpenTxn>();
    if (parent) {
      auto p = find_txn(parent);
      std::lock_guard guard(p->mu);
      open->txn = state_.db->begin(p->txn.get(), label);
    } else {
      open->txn = state_.db->begin(nullptr, label);
    }
    const CORBA::ULongLong id = open->txn->id();
    std::lock_guard guard(txns_mu_);
    txns_[id] = std::move(open);
    return id;
  });
}

void DispatcherServant::txn_put(CORBA::ULongLong txn, const char* table, const char* key,
                                const char* value) {
  guarded([&] {
    auto t = find_txn(txn);
    std::lock_guard guard(t->mu);
    t->txn->put(parse_table(table), key, value);
  });
}

void DispatcherServant::txn_erase(CORBA::ULongLong txn, const char* table, const char* key) {
  guarded([&] {
    auto t = find_txn(txn);
    std::lock_guard guard(t->mu);
    t->txn->erase(parse_table(table), key);
  });
}

char* DispatcherServant::txn_get(CORBA::ULongLong txn, const char* table, const char* key,
                                 CORBA::Boolean& found) {
  return guarded([&] {
    auto t = find_txn(txn);
    std::lock_guard guard(t->mu);
    auto v = t->txn->get(parse_table(table), key);
    found = v.has_value();
    return CORBA::string_dup(v ? v->c_str() : "");
  });
}

namespace {
std::string attribute_key(const char* oid, const char* name) {
  if (!*oid || std::strchr(oid, '/'))
    fail(fmt::format("'{}' is not an object id (empty or contains '/')", oid));
  if (!*name) fail("an attribute name must not be empty");
  return std::string(oid) + "/" + name;
}
}  // namespace

void DispatcherServant::attr_set(CORBA::ULongLong txn, const char* oid, const char* name,
                                 const CORBA::Any& value) {
  guarded([&] {
    const std::string key = attribute_key(oid, name);
    auto t = find_txn(txn);
    std::lock_guard guard(t->mu);
    t->txn->put(db::Table::kAttributes, key, encode_attribute(value));
  });
}

CORBA::Any* DispatcherServant::attr_get(CORBA::ULongLong txn, const char* oid, const char* name,
                                        CORBA::Boolean& found) {
  return guarded([&] {
    const std::string key = attribute_key(oid, name);
    auto t = find_txn(txn);
    std::lock_guard guard(t->mu);
    auto bytes = t->txn->get(db::Table::kAttributes, key);
    auto* value = new CORBA::Any;
    found = bytes.has_value();
    if (bytes) {
      try {
        decode_attribute(*bytes, *value);
      } catch (const std::runtime_error& e) {
        delete value;
        fail(fmt::format("attribute {} is corrupt: {}; check the database with wchkdb", key,
                         e.what()));
      }
    }
    return value;
  });
}

void DispatcherServant::txn_commit(CORBA::ULongLong txn) {
  guarded([&] {
    auto t = find_txn(txn);
    std::lock_guard guard(t->mu);
    t->txn->commit();
    forget_txn(txn);
  });
}

void DispatcherServant::txn_abort(CORBA::ULongLong txn) {
  guarded([&] {
    auto t = find_txn(txn);
    std::lock_guard guard(t->mu);
    t->txn->abort();
    forget_txn(txn);
  });
}

char* DispatcherServant::backup(const char* target_dir) {
  return guarded([&] {
    if (*target_dir != '/') fail(fmt::format("backup directory '{}' must be an absolute path", target_dir));
    const std::size_t left_out = state_.db->backup(target_dir);
    const std::string msg = fmt::format(
        "Database {} backed up to {}{}.", state_.instance.dbdir, target_dir,
        left_out == 0 ? std::string()
                      : fmt::format(" ({} open transaction(s) left out)", left_out));
    state_.log->line("wbkupdb: " + msg);
    return CORBA::string_dup(msg.c_str());
  });
}

void DispatcherServant::tmstat(OServ::TxnEntries_out txns, OServ::LockEntries_out locks,
                               CORBA::ULongLong& journal_bytes,
                               CORBA::ULongLong& journal_file_bytes) {
  guarded([&] {
    auto& db = *state_.db;
    auto open = db.transactions();
    txns = new OServ::TxnEntries;
    txns->length(static_cast<CORBA::ULong>(open.size()));
    for (CORBA::ULong i = 0; i < open.size(); ++i) {
      auto& e = (*txns)[i];
      e.id = db.describe(open[i].id).c_str();
      e.kind = open[i].parent ? "Sub-T" : "Top-T";
      e.parent = open[i].parent ? db.describe(open[i].parent).c_str() : "";
      e.label = open[i].label.c_str();
      e.started = db::format_time(open[i].started).c_str();
      e.changes = static_cast<CORBA::ULong>(open[i].changes);
    }
    auto held = db.locks();
    locks = new OServ::LockEntries;
    locks->length(static_cast<CORBA::ULong>(held.size()));
    for (CORBA::ULong i = 0; i < held.size(); ++i) {
      auto& e = (*locks)[i];
      e.resource = held[i].resource.c_str();
      e.mode = held[i].mode == db::LockMode::kWrite ? "write" : "read";
      e.holders.length(static_cast<CORBA::ULong>(held[i].holders.size()));
      for (CORBA::ULong h = 0; h < held[i].holders.size(); ++h)
        e.holders[h] = db.describe(held[i].holders[h]).c_str();
      e.waiters.length(static_cast<CORBA::ULong>(held[i].waiters.size()));
      for (CORBA::ULong w = 0; w < held[i].waiters.size(); ++w)
        e.waiters[w] = db.describe(held[i].waiters[w]).c_str();
    }
    journal_bytes = db.journal_size();
    journal_file_bytes = db.journal_file_size();
  });
}

void DispatcherServant::abort_open_transactions() {
  std::map<CORBA::ULongLong, std::shared_ptr<OpenTxn>> open;
  {
    std::lock_guard guard(txns_mu_);
    open.swap(txns_);
  }
  // Ids grow with creation, so the newest (children) go first.
  for (auto it = open.rbegin(); it != open.rend(); ++it) {
    std::lock_guard guard(it->second->mu);
    try {
      it->second->txn->abort();
      state_.log->line(fmt::format("shutdown: rolled back transaction {}",
                                   state_.db->describe(it->first)));
    } catch (const db::DbError& e) {
      state_.log->line(fmt::format("^shutdown: rollback of {} failed ({}); it is redone from "
                                   "odb.log at the next start",
                                   state_.db->describe(it->first), e.what()));
    }
  }
}

}  // namespace openoserv
