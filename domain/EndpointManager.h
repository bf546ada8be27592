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
//             is already an endpoint's is refused (delete it first, as seed 3.5 advises).
//   isolated  the endpoint's gateway did not answer and it logged in at another: the key must
//             match; it moves to that gateway, counted as one migration.
//   orphan    an OID the manager does not know: refused, so that lcfd logs in as new.
// Normal logins (to the assigned gateway) are the gateway's alone and never reach here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "Database.h"
#include "DispatcherInfo.h"
#include "Objects.h"
#include "OservLog.h"
#include "Records.h"

namespace openoserv {

class EndpointManager {
 public:
  EndpointManager(const DispatcherInfo& self, db::Database& db, OservLog& log, Objects& objects)
      : self_(self), db_(db), log_(log), objects_(objects) {}

  // The gateway `label` run by dispatcher `od`, reached at host:port (its object `oid`, made
  // at that node). Refuses a label or an address already a gateway's.
  GatewayRecord add_gateway(const GatewayRecord& gateway);
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
  // By label or OID.
  std::optional<EndpointRecord> endpoint(const std::string& name);
  // An administrator's move (wep EP migrate GW): the endpoint goes to `gateway` at its next
  // login there; its old gateway refuses it from then on.
  EndpointRecord migrate(const std::string& endpoint, const std::string& gateway);
  void remove_endpoint(const std::string& endpoint);

 private:
  Assignment initial(const Login& login);
  Assignment isolated(const Login& login);
  std::vector<GatewayRecord> alternates_for(const std::string& assigned);

  const DispatcherInfo& self_;
  db::Database& db_;
  OservLog& log_;
  Objects& objects_;
};

}  // namespace openoserv
