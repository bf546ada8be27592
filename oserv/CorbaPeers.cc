// Calls to the other dispatchers of the region.
#include "CorbaPeers.h"

#include <fmt/core.h>

#include "Failure.h"
#include "Odlist.h"
#include "OrbInit.h"
#include "RequestContext.h"
#include "Timeouts.h"
#include "WireConvert.h"

namespace openoserv {

OServ::Dispatcher_ptr CorbaPeers::dispatcher(std::uint32_t od, Timeout timeout) {
  const std::uint64_t generation = db_.generation(db::Table::kOdlist);
  const std::pair<std::uint32_t, long> key{od, static_cast<long>(timeout.count())};
  {
    std::lock_guard guard(mu_);
    auto it = refs_.find(key);
    if (it != refs_.end() && it->second.generation == generation)
      return OServ::Dispatcher::_duplicate(it->second.ref);
  }
  auto rec = odlist::find(db_, od);
  if (!rec) fail(fmt::format("dispatcher {} is not in the odlist of region {}", od, db_.region()));
  const std::string address = rec->address();
  std::lock_guard guard(mu_);
  CachedRef& cached = refs_[key];
  if (cached.address != address || CORBA::is_nil(cached.ref)) {
    CORBA::Object_var obj =
        orb_->string_to_object(corbaloc_url(address, "Dispatcher").c_str());
    cached.ref = OServ::Dispatcher::_unchecked_narrow(obj);
    // On the narrowed reference: narrowing makes a new one, without the timeout of the first.
    omniORB::setClientCallTimeout(cached.ref, static_cast<CORBA::ULong>(timeout.count()));
    cached.address = address;
  }
  cached.generation = generation;
  return OServ::Dispatcher::_duplicate(cached.ref);
}

void CorbaPeers::ping(std::uint32_t od, Timeout timeout) {
  call(od, timeout, [](OServ::Dispatcher_ptr d) { d->ping(); });
}

MethodOutcome CorbaPeers::invoke(std::uint32_t od, const std::string& oid,
                                 const std::string& method, const std::vector<std::string>& args,
                                 Timeout timeout) {
  const OServ::StringList wire_args = wire::strings(args);
  // The owner's programs and audit log learn who asked here.
  const Principal& caller = RequestContext::current().principal;
  const std::string original = caller.on_behalf_of.empty() ? caller.describe() : caller.on_behalf_of;
  OnBehalfOf scope(original);
  return call(od, timeout, [&](OServ::Dispatcher_ptr d) {
    OServ::MethodResult_var r = d->invoke(oid.c_str(), method.c_str(), wire_args);
    return wire::result(r.in());
  });
}

std::string CorbaPeers::shutdown(std::uint32_t od) {
  return call(od, timeouts::kPush, [od](OServ::Dispatcher_ptr d) {
    CORBA::String_var msg = d->shutdown(od);
    return std::string(msg.in());
  });
}

std::vector<OdRecord> CorbaPeers::node_started(std::uint32_t self, const std::string& ip,
                                               std::uint16_t port, Timeout timeout) {
  return call(kTmrDispatcher, timeout, [&](OServ::Dispatcher_ptr tmr) {
    OServ::OdEntries_var list = tmr->node_started(self, ip.c_str(), port);
    return wire::odlist(list.in());
  });
}

std::string CorbaPeers::edit_odlist(const OdlistEdit& e) {
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    CORBA::String_var msg;
    switch (e.kind) {
      case OdlistEdit::Kind::kForceBind:
        msg = tmr->set_force_bind(e.flag, e.od);
        break;
      case OdlistEdit::Kind::kChangeIp:
        msg = tmr->change_ip(e.od, e.ip.c_str(), e.flag);
        break;
      case OdlistEdit::Kind::kAddAlias:
        msg = tmr->add_hostname_alias(e.od, e.ip.c_str(), e.name.c_str());
        break;
      case OdlistEdit::Kind::kDeleteAlias:
        msg = tmr->delete_hostname_alias(e.od, e.ip.c_str(), e.name.c_str());
        break;
    }
    return std::string(msg.in());
  });
}

std::string CorbaPeers::lookup(const std::string& resource, const std::string& label) {
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    CORBA::String_var oid = tmr->lookup(resource.c_str(), label.c_str());
    return std::string(oid.in());
  });
}

std::vector<NameEntry> CorbaPeers::list_names(const std::string& resource) {
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    OServ::NameEntries_var names = tmr->list_names(resource.c_str());
    return wire::names(names.in());
  });
}

void CorbaPeers::register_name(const std::string& resource, const std::string& label,
                               const std::string& oid) {
  call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    tmr->register_name(resource.c_str(), label.c_str(), oid.c_str());
  });
}

void CorbaPeers::install_method(const std::string& cls, const std::string& method,
                                const std::string& program) {
  call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    tmr->install_method(cls.c_str(), method.c_str(), program.c_str());
  });
}

std::vector<MethodDef> CorbaPeers::class_methods(const std::string& cls) {
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    OServ::MethodDefs_var defs = tmr->class_methods(cls.c_str());
    return wire::methods(defs.in());
  });
}

void CorbaPeers::odlist_update(std::uint32_t od, const std::vector<OdRecord>& records) {
  const OServ::OdEntries list = wire::odlist(records);
  call(od, timeouts::kPush, [&](OServ::Dispatcher_ptr d) { d->odlist_update(list); });
}

void CorbaPeers::class_update(std::uint32_t od, const std::string& cls,
                              const std::vector<MethodDef>& methods) {
  const OServ::MethodDefs defs = wire::methods(methods);
  call(od, timeouts::kPush, [&](OServ::Dispatcher_ptr d) { d->class_update(cls.c_str(), defs); });
}

std::string CorbaPeers::set_administrator(const AdministratorRecord& admin, bool create) {
  const OServ::AdminEntry entry = wire::admin(admin);
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    CORBA::String_var msg = tmr->set_administrator(entry, create);
    return std::string(msg.in());
  });
}

std::string CorbaPeers::delete_administrator(const std::string& name) {
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    CORBA::String_var msg = tmr->delete_administrator(name.c_str());
    return std::string(msg.in());
  });
}

std::vector<AdministratorRecord> CorbaPeers::administrators() {
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    OServ::AdminEntries_var all = tmr->administrators();
    return wire::admins(all.in());
  });
}

std::string CorbaPeers::renew_certificate(const std::string& csr) {
  return call(kTmrDispatcher, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr tmr) {
    CORBA::String_var cert = tmr->renew_certificate(csr.c_str());
    return std::string(cert.in());
  });
}

void CorbaPeers::administrators_update(std::uint32_t od,
                                       const std::vector<AdministratorRecord>& admins) {
  const OServ::AdminEntries all = wire::admins(admins);
  call(od, timeouts::kPush, [&](OServ::Dispatcher_ptr d) { d->administrators_update(all); });
}

std::string CorbaPeers::object_ior(std::uint32_t od, const std::string& oid) {
  return call(od, timeouts::kTmrCall, [&](OServ::Dispatcher_ptr d) {
    CORBA::String_var ior = d->object_ior(oid.c_str());
    return std::string(ior.in());
  });
}

ReplicaBatch CorbaPeers::replica_fetch(const std::string& standby, std::uint64_t after,
                                       std::uint32_t crc, std::chrono::milliseconds wait) {
  // The primary holds the call up to `wait`; a reply later than that and a short call's time is
  // given up (a request that reached a primary whose ORB was stopping gets none) and the
  // follower asks again.
  return call(kTmrDispatcher, wait + timeouts::kPush, [&](OServ::Dispatcher_ptr tmr) {
    OServ::ReplicaBatch_var b =
        tmr->replica_fetch(standby.c_str(), after, crc, static_cast<CORBA::ULong>(wait.count()));
    ReplicaBatch out{.primary_seq = b->primary_seq, .first_kept = b->first_kept,
                     .epoch = b->epoch, .bytes_behind = b->bytes_behind,
                     .in_sync = static_cast<bool>(b->in_sync),
                     .diverged = static_cast<bool>(b->diverged), .records = {}};
    out.records.reserve(b->records.length());
    for (CORBA::ULong i = 0; i < b->records.length(); ++i)
      out.records.emplace_back(reinterpret_cast<const char*>(b->records[i].get_buffer()),
                               b->records[i].length());
    return out;
  });
}

}  // namespace openoserv
