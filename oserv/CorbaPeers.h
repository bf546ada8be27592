// The domain's Peers over IIOP: calls on the other dispatchers' "Dispatcher" objects, at the
// address the odlist records, each bounded by a timeout.
//
// References are cached per (dispatcher, timeout) and reused while the odlist keeps the same
// address for the dispatcher: making one from a corbaloc URL costs more than a loopback call.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include <fmt/core.h>

#include "Database.h"
#include "Failure.h"
#include "Odlist.h"
#include "OrbInit.h"
#include "Peers.h"
#include "Replication.h"
#include "oserv.hh"

namespace openoserv {

class CorbaPeers final : public Peers {
 public:
  CorbaPeers(CORBA::ORB_ptr orb, db::Database& db) : orb_(orb), db_(db) {}

  void ping(std::uint32_t od, Timeout timeout) override;
  MethodOutcome invoke(std::uint32_t od, const std::string& oid, const std::string& method,
                       const std::vector<std::string>& args, Timeout timeout) override;
  std::string shutdown(std::uint32_t od) override;
  std::vector<OdRecord> node_started(std::uint32_t self, const std::string& ip,
                                     std::uint16_t port, Timeout timeout) override;
  std::string edit_odlist(const OdlistEdit& edit) override;
  std::string lookup(const std::string& resource, const std::string& label) override;
  std::vector<NameEntry> list_names(const std::string& resource) override;
  void register_name(const std::string& resource, const std::string& label,
                     const std::string& oid) override;
  void install_method(const std::string& cls, const std::string& method,
                      const std::string& program) override;
  std::vector<MethodDef> class_methods(const std::string& cls) override;
  void odlist_update(std::uint32_t od, const std::vector<OdRecord>& odlist) override;
  void class_update(std::uint32_t od, const std::string& cls,
                    const std::vector<MethodDef>& methods) override;
  std::string set_administrator(const AdministratorRecord& admin, bool create) override;
  std::string delete_administrator(const std::string& name) override;
  std::vector<AdministratorRecord> administrators() override;
  std::string renew_certificate(const std::string& csr) override;
  void administrators_update(std::uint32_t od,
                             const std::vector<AdministratorRecord>& admins) override;

  // Called (once per refusal, from the calling thread) when dispatcher `od` refuses this
  // oserv for an older epoch: it was replaced as TMR server. Set before calls are made.
  void set_on_stale_epoch(std::function<void(std::uint32_t)> f) { on_stale_epoch_ = std::move(f); }

  // A standby asks the primary (dispatcher 1 of its copy of the odlist) for what follows `after`.
  ReplicaBatch replica_fetch(const std::string& standby, std::uint64_t after, std::uint32_t crc,
                             std::chrono::milliseconds wait);

  // The IOR of object `oid` as its owner `od` makes it.
  std::string object_ior(std::uint32_t od, const std::string& oid);

  // Runs f(dispatcher od): a refusal (OServ::Failed) becomes Failure with its sentence, any
  // other CORBA exception Unreachable naming the dispatcher. (Also for servants that forward
  // an operation to the TMR server as it is.)
  template <typename F>
  auto call(std::uint32_t od, Timeout timeout, F&& f) -> decltype(f(OServ::Dispatcher_ptr()));

 private:
  OServ::Dispatcher_ptr dispatcher(std::uint32_t od, Timeout timeout);

  CORBA::ORB_ptr orb_;
  db::Database& db_;
  struct CachedRef {
    std::uint64_t generation = ~std::uint64_t{0};  // of the odlist it was made from
    std::string address;
    OServ::Dispatcher_var ref;
  };
  std::mutex mu_;  // guards refs_
  std::map<std::pair<std::uint32_t, long>, CachedRef> refs_;
  std::function<void(std::uint32_t)> on_stale_epoch_;
};

template <typename F>
inline auto CorbaPeers::call(std::uint32_t od, Timeout timeout, F&& f)
    -> decltype(f(OServ::Dispatcher_ptr())) {
  try {
    OServ::Dispatcher_var d = dispatcher(od, timeout);
    return f(d.in());
  } catch (const OServ::Failed& e) {
    throw Failure(e.reason.in());
  } catch (const CORBA::NO_PERMISSION& e) {
    auto rec = odlist::find(db_, od);
    const std::string who = rec ? odlist::describe(*rec) : fmt::format("dispatcher {}", od);
    if (e.minor() == kStaleEpochRefusal && on_stale_epoch_) on_stale_epoch_(od);
    if (e.minor() == kStaleEpochRefusal) throw Failure(stale_epoch_refusal(who));
    throw Failure(fmt::format("{} refuses the call (NO_PERMISSION); its audit.log says why", who));
  } catch (const CORBA::Exception& e) {
    auto rec = odlist::find(db_, od);
    throw Unreachable(od, fmt::format("{} does not answer ({})",
                                      rec ? odlist::describe(*rec) : fmt::format("dispatcher {}", od),
                                      e._name()));
  }
}

}  // namespace openoserv
