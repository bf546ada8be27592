// Dispatcher operations. Every database error becomes OServ::Failed with a complete sentence.
#include "DispatcherServant.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

#include "AttributeCodec.h"
#include "LockTable.h"
#include "Version.h"

namespace openoserv {

namespace {

[[noreturn]] void fail(const std::string& reason) { throw OServ::Failed(reason.c_str()); }

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
    return s;
  });
}

OServ::OdEntries* DispatcherServant::odlist() {
  return guarded([&] {
    auto records = state_.db->odlist();
    auto* list = new OServ::OdEntries;
    list->length(static_cast<CORBA::ULong>(records.size()));
    for (CORBA::ULong i = 0; i < records.size(); ++i) {
      const auto& r = records[i];
      OServ::OdEntry& e = (*list)[i];
      e.od = r.od;
      e.port = r.port;
      e.ipaddr = r.ip.c_str();
      e.hostnames.length(static_cast<CORBA::ULong>(r.hostnames.size()));
      for (CORBA::ULong h = 0; h < r.hostnames.size(); ++h) e.hostnames[h] = r.hostnames[h].c_str();
      e.force_bind = r.force_bind;
      // Only this dispatcher is known to answer until region membership tracks the others.
      e.connected = r.od == state_.od;
    }
    return list;
  });
}

char* DispatcherServant::set_force_bind(CORBA::Boolean on, CORBA::ULong od) {
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
    std::string which;
    for (auto& r : targets) {
      r.force_bind = on;
      state_.db->put_od(r);
      which += (which.empty() ? "" : ", ") + std::to_string(r.od);
    }
    const char* value = on ? "TRUE" : "FALSE";
    state_.log->line(fmt::format("set_force_bind {} for dispatcher(s) {}", value, which));
    return CORBA::string_dup(
        fmt::format("Force socket bind set to {} for dispatcher(s) {}. Restart the oserv(s) for "
                    "the change to take effect.",
                    value, which)
            .c_str());
  });
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
  if (od != 0 && od != state_.od) {
    if (!guarded([&] { return state_.db->od(od).has_value(); }))
      fail(fmt::format("dispatcher {} is not in the odlist of region {}", od, state_.region));
    fail(fmt::format("dispatcher {} is another node of the region; shut it down from that node",
                     od));
  }
  state_.log->line(fmt::format("shutdown requested by odadmin (dispatcher {})", state_.od));
  // The main thread owns the orderly stop; it lets this reply go out before the ORB closes.
  ::kill(::getpid(), SIGTERM);
  return CORBA::string_dup(fmt::format("Dispatcher {} ({}) is shutting down.", state_.od,
                                       state_.instance.where.id)
                               .c_str());
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
                               CORBA::ULongLong& journal_bytes) {
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
    journal_bytes = db.journal_file_size();
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
