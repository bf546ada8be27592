// Objects, classes, names and method dispatch.
//
// A call made at any dispatcher on an object of another is relayed to the owner (a method thread
// in state rwait here), which runs the method as a method thread in state run: built-in for the
// framework classes, else the program the class names for it. Every object answers the built-in
// methods `oid` and `class_name`. Names ("<resource>/<label>" -> OID) and installed classes are
// kept at the TMR server; classes are also sent to, and cached by, every dispatcher.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "Access.h"
#include "Database.h"
#include "DispatcherInfo.h"
#include "MethodThreads.h"
#include "Oid.h"
#include "OservLog.h"
#include "Peers.h"
#include "Programs.h"
#include "Region.h"

namespace openoserv {

class GatewayHost;

class Objects {
 public:
  Objects(const DispatcherInfo& self, db::Database& db, OservLog& log, Region& region,
          Peers& peers, MethodThreads& threads, Programs& programs);

  // `caller` is who asked (the access check's principal): the method needs its role
  // (method_refusal), and its programs get its name as OSERV_CALLER. Null for the dispatcher's
  // own calls.
  MethodOutcome invoke(const std::string& oid, const std::string& method,
                       const std::vector<std::string>& args, const Principal* caller = nullptr);

  // A policy (the Endpoint Manager's): the program installed for `method` of local object
  // `oid`'s class, run as a method is but within `limit`; nullopt when none is installed.
  // Throws Failure when it cannot be run or runs past the limit.
  std::optional<MethodOutcome> run_policy(const std::string& oid, const std::string& method,
                                          const std::vector<std::string>& args,
                                          std::chrono::milliseconds limit);

  // The account method programs, scripts and tasks run as on this dispatcher (meta
  // "method_user"; "nobody" when unset). Setting it checks that the user exists here.
  std::string method_user();
  std::string set_method_user(const std::string& user);

  // Where an object is, for its object reference: the owning dispatcher and the object's class
  // (from the OID; for a local object from the database; for another dispatcher's object named
  // without its class, from the owner). A local object that does not exist, or an OID of another
  // region, is nullopt.
  struct Location {
    Oid oid;
    bool local = false;
    std::string cls;  // empty: not known here (a remote object named without #class#)
  };
  std::optional<Location> locate(const std::string& oid);

  // Creates an object of `cls` on this dispatcher, named `label` under `resource` in the
  // region's name registry. Returns its OID. With `within` (at the TMR server), as part of that
  // transaction: made when it commits, not at all if it aborts.
  std::string create_object(const std::string& cls, const std::string& resource,
                            const std::string& label, db::Transaction* within = nullptr);

  std::string lookup(const std::string& resource, const std::string& label);
  std::vector<NameEntry> list_names(const std::string& resource);
  void register_name(const std::string& resource, const std::string& label,
                     const std::string& oid, db::Transaction* within = nullptr);

  void install_method(const std::string& cls, const std::string& method,
                      const std::string& program);
  void store_class(const std::string& cls, const std::vector<MethodDef>& methods);
  std::vector<MethodDef> class_methods(const std::string& cls);

  // The endpoint tier, set once by LocalDispatcher: the gateways this node runs (the built-in
  // methods host_gateway, start_gateway, stop_gateway, gateway_status), and the downcall that
  // runs an endpoint object's method on the endpoint (at the TMR server).
  // `here`: at a managed node, a method of an object of the TMR server when the TMR server does
  // not answer: run through this node's gateway when one holds an endpoint with that OID
  // (nullopt: none does).
  using Downcall = std::function<MethodOutcome(const Oid&, const std::string&,
                                               const std::vector<std::string>&)>;
  using DowncallHere = std::function<std::optional<MethodOutcome>(
      const Oid&, const std::string&, const std::vector<std::string>&)>;
  void set_endpoint_tier(GatewayHost* host, Downcall downcall, DowncallHere here) {
    gateway_host_ = host;
    downcall_ = std::move(downcall);
    downcall_here_ = std::move(here);
  }

  // This dispatcher's ManagedNode object (n = 1), created if missing and named at the TMR
  // server under its logical host. Throws Failure when the TMR server does not answer.
  void ensure_managed_node();

 private:
  std::optional<MethodOutcome> run_builtin(const Oid& oid, const std::string& method,
                                           const std::vector<std::string>& args);
  std::optional<MethodOutcome> run_task_library(const Oid& oid, const std::string& method,
                                                const std::vector<std::string>& args);
  MethodOutcome run_installed(const Oid& oid, const std::string& method,
                              const std::vector<std::string>& args,
                              std::optional<std::chrono::milliseconds> limit = std::nullopt);
  MethodOutcome run_script(const Oid& oid, const std::string& script);
  std::optional<RunAs> method_account();
  // The environment every program of a method gets.
  std::vector<std::string> program_env(const Oid& oid, const std::string& method);
  MethodOutcome run_task(const Oid& oid, const std::vector<std::string>& args);
  std::uint64_t next_object_number(db::Transaction* within);
  // Runs f() for state kept at the TMR server, turning "it does not answer" into a sentence.
  template <typename F>
  auto at_tmr(const char* what, F&& f) -> decltype(f());

  const DispatcherInfo& self_;
  db::Database& db_;
  OservLog& log_;
  Region& region_;
  Peers& peers_;
  MethodThreads& threads_;
  Programs& programs_;
  GatewayHost* gateway_host_ = nullptr;
  Downcall downcall_;
  DowncallHere downcall_here_;
};

}  // namespace openoserv
