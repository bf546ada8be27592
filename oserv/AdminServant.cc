// Admin operations.
#include "AdminServant.h"

#include <dlfcn.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/core.h>

#include "Health.h"
#include "Maintenance.h"
#include "Odlist.h"
#include "RequestContext.h"
#include "RegionCa.h"
#include "ServantSupport.h"
#include "Utf8.h"
#include "Version.h"
#include "WireConvert.h"

namespace openoserv {

namespace {

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

std::string interpreter_type() {
  utsname u{};
  ::uname(&u);
  return fmt::format("linux-{}", u.machine);
}

// Tivoli printed "Simple" or "DES"; here the transport and this dispatcher's certificate.
std::string encryption_level(LocalDispatcher& local) {
  try {
    const std::string cert = local.certificates.own_certificate();
    return fmt::format("TLS, certificate {} until {}", tls::serial_of(cert),
                       tls::expiry_date(cert));
  } catch (const std::exception& e) {
    return fmt::format("TLS (own certificate unreadable: {})", e.what());
  }
}

}  // namespace

OServ::StatusBlock* AdminServant::status() {
  return guarded([&] {
    const auto& info = local_.info;
    auto s = std::make_unique<OServ::StatusBlock>();
    s->instance_id = info.id().c_str();
    s->region = info.region;
    s->dispatcher = info.od;
    s->interpreter_type = interpreter_type().c_str();
    s->database_dir = info.instance.dbdir.c_str();
    s->install_dir = info.install_dir.c_str();
    s->encryption_level = encryption_level(local_).c_str();
    s->kerberos = false;
    s->remote_client_login = local_.administrators.remote_login_allowed();
    s->install_library_path = library_path().c_str();
    const auto rec = odlist::find(local_.db, info.od);
    s->force_bind = rec && rec->force_bind;
    s->force_bind_active = info.force_bind_active;
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
    s->logical_host = info.instance.logical_host.c_str();
    s->bound_address = info.listening().c_str();
    s->port = info.instance.port;
    s->pid = static_cast<CORBA::ULong>(::getpid());
    s->started = info.started.c_str();
    s->tmr_link = local_.follower ? local_.follower->status().front().c_str()
                                  : local_.region.link_state().c_str();
    return s.release();
  });
}

OServ::StringList* AdminServant::health(CORBA::ULong max_method_seconds) {
  return guarded([&] {
    return new OServ::StringList(wire::strings(health_problems(
        local_.db, local_.threads, local_.transactions, std::chrono::seconds(max_method_seconds))));
  });
}

char* AdminServant::db_sync() {
  return guarded([&] { return dup(sync_database(local_)); });
}

char* AdminServant::shutdown(CORBA::ULong od) {
  local_.log.line(fmt::format("shutdown of {} asked by {}", od ? std::to_string(od) : "all",
                              RequestContext::caller()));
  return guarded([&] {
    return dup(local_.region.shutdown(od, [] { return !RequestContext::caller_gone(); }));
  });
}

char* AdminServant::ior() { return dup(ior_); }

// The instance's backup directory (Tivoli's $DBDIR/../backups). A caller with the backup role
// but not super writes only there: the copy is made by the oserv's user (root), so any other
// place would let a backup operator create root's files anywhere.
std::filesystem::path backup_directory(const LocalDispatcher& local) {
  return std::filesystem::path(local.info.instance.dbdir).parent_path() / "backups";
}

char* AdminServant::backup(const char* target_dir) {
  return guarded([&] {
    if (!satisfies(RequestContext::current().principal.roles, kRoleSuper)) {
      const auto allowed = std::filesystem::weakly_canonical(backup_directory(local_));
      const auto target = std::filesystem::weakly_canonical(target_dir);
      const auto rel = target.lexically_relative(allowed);
      if (rel.empty() || rel == "." || *rel.begin() == "..")
        fail(fmt::format("{} is outside the instance's backup directory {}: without the super "
                         "role, back up into a new directory there",
                         target_dir, allowed.string()));
      std::filesystem::create_directories(allowed);
    }
    return dup(backup_database(local_, target_dir));
  });
}

char* AdminServant::method_user() {
  return guarded([&] { return dup(local_.objects.method_user()); });
}

char* AdminServant::set_method_user(const char* user) {
  return guarded([&] { return dup(local_.objects.set_method_user(user)); });
}

OServ::StringList* AdminServant::log_tail(CORBA::ULong lines) {
  return guarded([&] {
    std::vector<std::string> tail;
    try {
      tail = local_.log.tail(std::min<CORBA::ULong>(lines, 1000));
    } catch (const std::runtime_error& e) {
      fail(e.what());
    }
    for (auto& line : tail) line = valid_utf8(line);  // method output may be any bytes
    return new OServ::StringList(wire::strings(tail));
  });
}

}  // namespace openoserv
