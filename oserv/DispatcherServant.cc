// Dispatcher operations. Every database error becomes OServ::Failed with a complete sentence.
#include "DispatcherServant.h"

#include <dlfcn.h>
#include <signal.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/core.h>

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
    state_.db->sync();
    state_.log->line("db_sync: database synced");
    return CORBA::string_dup(fmt::format("Database {} synced.", state_.instance.dbdir).c_str());
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

}  // namespace openoserv
