// OServ::EndpointAdmin: the Endpoint Manager's operations. At a managed node, the administrators'
// operations are forwarded to the TMR server as they are; what gateways ask is answered at the
// TMR server only.
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class CorbaPeers;

class EndpointsServant : public virtual POA_OServ::EndpointAdmin {
 public:
  EndpointsServant(LocalDispatcher& local, CorbaPeers& peers) : local_(local), peers_(peers) {}

  char* create_gateway(const char* node, const char* label, CORBA::UShort port) override;
  OServ::GatewayEntries* gateways() override;
  char* delete_gateway(const char* label) override;
  OServ::EndpointEntries* endpoints(const char* gateway) override;
  OServ::EndpointSessions* gateway_sessions(const char* gateway) override;
  char* migrate_endpoint(const char* endpoint, const char* gateway) override;
  char* set_login_interfaces(const char* endpoint, const char* gateway,
                             const char* interfaces) override;
  void endpoints_seen(const char* gateway, const OServ::LoginNotes& notes) override;
  char* delete_endpoint(const char* endpoint) override;
  OServ::EndpointEntries* gateway_started(const char* label, const char* ior,
                                          OServ::GatewayEntries_out others) override;
  OServ::EndpointGrant* endpoint_login(const char* kind, const char* label, const char* oid,
                                       const char* key, const char* interp, const char* address,
                                       const char* via) override;
  OServ::Program* method_body(const char* digest) override;
  char* endpoint_upcall(const char* oid, CORBA::ULongLong id, const char* method,
                        const OServ::StringList& args) override;

 private:
  // Runs `here` at the TMR server, else `there` on the TMR server's Dispatcher.
  template <typename Here, typename There>
  auto at_tmr(Here&& here, There&& there) -> decltype(here());

  LocalDispatcher& local_;
  CorbaPeers& peers_;
};

}  // namespace openoserv
