// The Endpoint Manager's calls to running gateways (domain/EndpointManager.h's GatewayCalls), on
// the service each gateway reported (idl/gateway.idl), over TLS with this dispatcher's
// certificate. References are cached by IOR; every call is bounded by a timeout.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "EndpointManager.h"
#include "gateway.hh"

namespace openoserv {

class CorbaGateways final : public GatewayCalls {
 public:
  explicit CorbaGateways(CORBA::ORB_ptr orb) : orb_(orb) {}

  MethodOutcome downcall(const GatewayRecord& gateway, const std::string& oid,
                         const std::string& method, const std::vector<std::string>& args,
                         const std::string& digest, std::chrono::seconds timeout) override;
  void forget(const GatewayRecord& gateway, const std::string& oid,
              const std::string& redirect) override;
  std::string session_of(const GatewayRecord& gateway, const std::string& oid) override;
  std::vector<LiveSession> sessions(const GatewayRecord& gateway) override;
  MethodOutcome downcall_here(const GatewayRecord& gateway, const std::string& oid,
                              const std::string& method, const std::vector<std::string>& args,
                              std::chrono::seconds timeout) override;
  void follow_tmr(const GatewayRecord& gateway, const std::string& address,
                  std::uint64_t epoch) override;
  // Called when a gateway (on dispatcher `od`) refuses this oserv for an older epoch.
  void set_on_stale_epoch(std::function<void(std::uint32_t)> f) { on_stale_epoch_ = std::move(f); }

 private:
  OServGateway::Service_ptr service(const GatewayRecord& gateway, std::chrono::milliseconds timeout);
  template <typename F>
  auto call(const GatewayRecord& gateway, std::chrono::milliseconds timeout, F&& f)
      -> decltype(f(OServGateway::Service_ptr()));

  CORBA::ORB_ptr orb_;
  std::mutex mu_;  // guards refs_
  std::map<std::pair<std::string, long>, OServGateway::Service_var> refs_;  // (IOR, timeout)
  std::function<void(std::uint32_t)> on_stale_epoch_;
};

}  // namespace openoserv
