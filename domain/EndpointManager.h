// The Endpoint Manager (seed 4.8.1): at the TMR server, the region's record of its gateways and
// endpoints, and the one that assigns an endpoint to a gateway.
//
// Gateways and endpoints are framework objects (TMF_Gateway::Gateway on the managed node that
// runs the gateway, TMF_Endpoint::Endpoint at the TMR server), named under the resources
// "Gateway" and "Endpoint". Their records (tables gateways and endpoints) hold what an
// assignment needs. Every change is one transaction under the lock "#epm" of the endpoints
// table, so two logins of one endpoint through two gateways cannot both move it.
//
// Logins (docs/LCF-PROTOCOL.md; a gateway asks the Endpoint Manager only for these):
//   initial   no OID yet: a new endpoint object, assigned to the gateway the login arrived at
//             (Tivoli's default without a select-gateway policy), with a new key; a label that
//             is already an endpoint's is refused (delete it first, as seed 3.5 advises),
//             unless that endpoint's first login never completed (first_login_unfinished).
//   isolated  the endpoint's gateway did not answer and it logged in at another: the key must
//             match; it moves to that gateway, counted as one migration.
//   orphan    an OID the manager does not know: refused, so that lcfd logs in as new.
// Normal logins (to the assigned gateway) are the gateway's alone and never reach here.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "Database.h"
#include "DispatcherInfo.h"
#include "MethodThreads.h"
#include "Objects.h"
#include "Oid.h"
#include "OservLog.h"
#include "Records.h"

namespace openoserv {

// The running gateways, as the Endpoint Manager reaches them (oserv/CorbaGateways over TLS;
// fakes in unit tests). Unreachable when the gateway does not answer; Failure with its sentence
// when it refuses.
// A live session as its gateway reports it.
struct LiveSession {
  std::string oid, label, address, since, login_kind;
};

class GatewayCalls {
 public:
  virtual ~GatewayCalls() = default;
  virtual MethodOutcome downcall(const GatewayRecord& gateway, const std::string& oid,
                                 const std::string& method, const std::vector<std::string>& args,
                                 const std::string& digest, std::chrono::seconds timeout) = 0;
  virtual void forget(const GatewayRecord& gateway, const std::string& oid,
                      const std::string& redirect) = 0;
  // Where endpoint `oid`'s live session at `gateway` comes from; "" when it has none.
  virtual std::string session_of(const GatewayRecord& gateway, const std::string& oid) = 0;
  virtual std::vector<LiveSession> sessions(const GatewayRecord& gateway) = 0;
  // The gateway runs the method as it last did (idl/gateway.idl, downcall_here).
  virtual MethodOutcome downcall_here(const GatewayRecord& gateway, const std::string& oid,
                                      const std::string& method,
                                      const std::vector<std::string>& args,
                                      std::chrono::seconds timeout) = 0;
  // The TMR server moved to `address` at `epoch` (idl/gateway.idl, follow_tmr).
  virtual void follow_tmr(const GatewayRecord& gateway, const std::string& address,
                          std::uint64_t epoch) = 0;
};

class EndpointManager {
 public:
  EndpointManager(const DispatcherInfo& self, db::Database& db, OservLog& log, Objects& objects,
                  MethodThreads& threads)
      : self_(self), db_(db), log_(log), objects_(objects), threads_(threads) {}

  // Set once, before the dispatcher serves (the oserv's CORBA implementation).
  void set_gateway_calls(GatewayCalls* calls) { calls_ = calls; }

  // The gateway `label` run by dispatcher `od`, reached at host:port (its object `oid`, made
  // at that node). Refuses a label or an address already a gateway's.
  GatewayRecord add_gateway(const GatewayRecord& gateway);
  // wcrtgate: a Gateway object made on managed node `node` (its label), whose oserv starts the
  // process, and its record here. Returns the operator message.
  std::string create_gateway(const std::string& node, const std::string& label,
                             std::uint16_t port, const Principal* caller);
  std::vector<GatewayRecord> gateways();
  std::optional<GatewayRecord> gateway(const std::string& label);
  // Refuses while endpoints are assigned to it (migrate them first).
  void delete_gateway(const std::string& label);

  struct Login {
    std::string kind;     // "initial" or "isolated"
    std::string label;    // initial
    std::string oid;      // isolated
    std::string key;      // isolated
    std::string interp;
    std::string address;  // where the session came from
    std::string via;      // the gateway it arrived at
    long long now = 0;    // seconds since the epoch
  };
  struct Assignment {
    EndpointRecord endpoint;
    std::string key;                      // a new endpoint's key (empty otherwise)
    GatewayRecord gateway;                // its assigned gateway
    std::vector<GatewayRecord> alternates;  // the others, fewest endpoints first (at most 3)
  };
  // Throws Failure (a sentence for the endpoint's log) when the login is refused.
  Assignment login(const Login& login);

  std::vector<EndpointRecord> endpoints(const std::string& gateway = "");
  // The sessions gateway `label` holds now (asked of the gateway); Failure for no such gateway
  // or one that has not reported since its node made it, Unreachable when it does not answer.
  std::vector<LiveSession> sessions(const std::string& label);
  // At a managed node whose TMR server does not answer: endpoint `oid`'s method run through the
  // one of `mine` (this node's gateways) that holds its session; nullopt when none does.
  std::optional<MethodOutcome> downcall_here(const std::vector<GatewayRecord>& mine,
                                             const std::string& oid, const std::string& method,
                                             const std::vector<std::string>& args,
                                             std::chrono::seconds timeout);
  // By label or OID.
  std::optional<EndpointRecord> endpoint(const std::string& name);
  // An administrator's move (wep EP migrate GW): the endpoint goes to `gateway` at its next
  // login there; its old gateway refuses it from then on.
  EndpointRecord migrate(const std::string& endpoint, const std::string& gateway);
  void remove_endpoint(const std::string& endpoint);
  // wep set interfaces: the login interfaces of `endpoint`, or of every endpoint of `gateway`,
  // recorded (sent in the LoginReply of logins that reach here) and told to each live endpoint
  // now. A line per endpoint saying which.
  std::vector<std::string> set_login_interfaces(const std::string& endpoint,
                                                const std::string& gateway,
                                                const std::string& interfaces);

  // A gateway's process started with service `ior`: recorded; returns its endpoints (the copy
  // it serves normal logins from) and, in `others`, the other gateways.
  std::vector<EndpointRecord> gateway_started(const std::string& label, const std::string& ior,
                                              std::vector<GatewayRecord>& others);

  // A downcall: method `method` of endpoint object `oid` (local here, the TMR server), run on
  // the endpoint through its gateway. The program is the one installed for the endpoint class
  // (wclass method TMF_Endpoint::Endpoint ...), sent by digest; a method with no program is
  // lcfd's own (ping, status).
  MethodOutcome downcall(const Oid& oid, const std::string& method,
                         const std::vector<std::string>& args, std::chrono::seconds timeout);
  // The program whose SHA-256 is `digest`, read from its file (gateways' method caches).
  std::string method_body(const std::string& digest);
  // Upcall `id` of endpoint `oid`: runs `method` of the Endpoint Manager object with the
  // endpoint's label and OID before `args`, unless an id this high was already recorded
  // (returns false then). Upcalls arrive in spool order, one at a time per endpoint.
  bool upcall(const std::string& oid, std::uint64_t id, const std::string& method,
              const std::vector<std::string>& args);

  // Normal logins gateway `gateway` served from its copy (told after them, in batches): each
  // endpoint still assigned to it gets its address and login time recorded, and the
  // login_policy runs for it in the background. Others are ignored (moved meanwhile).
  struct Seen {
    std::string oid;
    std::string address;
    long long when = 0;
  };
  void endpoints_seen(const std::string& gateway, const std::vector<Seen>& seen);

  // At the TMR server, once serving: the Endpoint Manager shows in odstat as a long-running
  // method (endpoint_manager, run) of its object until stop(), as Tivoli's did.
  void start();

  // Before the ORB stops: the background calls to gateways end.
  void stop();
  ~EndpointManager() { stop(); }

  // How many times the endpoints per gateway were counted from the database (once after a
  // start, again only after a change made without note_change).
  std::uint64_t load_counts();

  // The Endpoint Manager object (TMF_LCF::EndpointManager), created at the first call.
  std::string manager_oid();

 private:
  Assignment initial(const Login& login);
  Assignment isolated(const Login& login);
  // The gateways other than `assigned`, fewest endpoints first (`load`), at most 3.
  std::vector<GatewayRecord> alternates_for(const std::string& assigned,
                                            std::map<std::string, size_t> load);
  // Endpoints per gateway label, for the alternates. Counted from the database once, then kept
  // by the changes themselves: every change of the endpoints table is made under the "#epm"
  // lock and, just before its commit, calls note_change, which records it for the generation
  // that commit will make (the lock keeps every other change of the table out until then; a
  // commit that fails leaves that generation to the next change, which replaces the note). A
  // generation without a note (a change made some other way) makes the next call count again.
  // Returns the counts with this change in. Without it every login read every endpoint record.
  std::map<std::string, size_t> note_change(const std::string& from, const std::string& to);
  bool first_login_unfinished(const EndpointRecord& e, const Login& l);

  // Tells gateway `label` (if it runs) that endpoint `oid` left it, in the background (a
  // gateway that does not answer never holds a login up); logged, never fatal.
  void tell_forget(const std::string& label, const std::string& oid, const std::string& redirect);
  // Policies: the programs installed for the Endpoint Manager's class under these names.
  static std::vector<std::string> policy_args(const Login& l, const std::string& oid,
                                              const std::string& label = "");
  std::optional<MethodOutcome> policy(const std::string& name, const std::vector<std::string>& args);
  std::string selected_gateway(const Login& l, const std::vector<std::string>& args);
  void after_login(const std::string& name, std::vector<std::string> args);
  // Background work (telling gateways, after-login policies), in order, on one thread.
  void post(std::function<void()> job);
  void run_jobs();
  // The path of the endpoint class's program for `method` ("" when none), and its digest.
  std::pair<std::string, std::string> program_for(const std::string& method);

  const DispatcherInfo& self_;
  db::Database& db_;
  OservLog& log_;
  Objects& objects_;
  MethodThreads& threads_;
  GatewayCalls* calls_ = nullptr;
  std::mutex mu_;  // guards digests_
  std::map<std::string, std::string> digests_;  // SHA-256 -> program path, as last read
  std::mutex upcall_mu_;  // one upcall at a time: the dedup check and its record are one step
  std::mutex jobs_mu_;  // guards jobs_, stopping_ and starting worker_
  std::condition_variable jobs_cv_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread worker_;
  std::optional<MethodThreads::Scope> running_;  // start() to stop()
  std::mutex load_mu_;  // guards the five below
  static constexpr std::uint64_t kNotCounted = ~std::uint64_t{0};
  std::map<std::string, size_t> load_;  // as of the endpoints table's load_generation_
  std::uint64_t load_generation_ = kNotCounted;
  std::pair<std::string, std::string> noted_;  // the last noted change: (from, to) gateways
  std::uint64_t noted_generation_ = kNotCounted;  // the generation its commit makes
  std::uint64_t load_counts_ = 0;
  // Gateways not to call until then (they did not answer); the worker's alone.
  std::map<std::string, std::chrono::steady_clock::time_point> silent_;
};

}  // namespace openoserv
