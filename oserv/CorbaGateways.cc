// Calls to gateways.
#include "CorbaGateways.h"

#include <fmt/core.h>

#include "Failure.h"
#include "OrbInit.h"
#include "Timeouts.h"
#include "WireConvert.h"

namespace openoserv {

OServGateway::Service_ptr CorbaGateways::service(const GatewayRecord& g,
                                                 std::chrono::milliseconds timeout) {
  const std::pair<std::string, long> key{g.ior, static_cast<long>(timeout.count())};
  std::lock_guard lock(mu_);
  auto& ref = refs_[key];
  if (CORBA::is_nil(ref)) {
    CORBA::Object_var obj = orb_->string_to_object(g.ior.c_str());
    ref = OServGateway::Service::_unchecked_narrow(obj);
    omniORB::setClientCallTimeout(ref, static_cast<CORBA::ULong>(timeout.count()));
  }
  return OServGateway::Service::_duplicate(ref);
}

template <typename F>
auto CorbaGateways::call(const GatewayRecord& g, std::chrono::milliseconds timeout, F&& f)
    -> decltype(f(OServGateway::Service_ptr())) {
  try {
    OServGateway::Service_var s = service(g, timeout);
    return f(s.in());
  } catch (const OServ::Failed& e) {
    throw Failure(e.reason.in());
  } catch (const CORBA::NO_PERMISSION& e) {
    if (e.minor() != kStaleEpochRefusal)
      throw Failure(fmt::format("gateway {} refuses the call (NO_PERMISSION)", g.label));
    if (on_stale_epoch_) on_stale_epoch_(g.od);
    throw Failure(stale_epoch_refusal("gateway " + g.label));
  } catch (const CORBA::Exception& e) {
    throw Unreachable(g.od, fmt::format("gateway {} on dispatcher {} does not answer ({})",
                                        g.label, g.od, e._name()));
  }
}

MethodOutcome CorbaGateways::downcall(const GatewayRecord& g, const std::string& oid,
                                      const std::string& method,
                                      const std::vector<std::string>& args,
                                      const std::string& digest, std::chrono::seconds timeout) {
  // The gateway ends a method past its limit and reports it; wait for that report.
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(timeout) +
                     timeouts::kProgramGrace + timeouts::kPush;
  return call(g, limit, [&](OServGateway::Service_ptr s) {
    OServ::MethodResult_var r =
        s->downcall(oid.c_str(), method.c_str(), wire::strings(args), digest.c_str(),
                    static_cast<CORBA::ULong>(timeout.count()));
    return wire::result(r.in());
  });
}

MethodOutcome CorbaGateways::downcall_here(const GatewayRecord& g, const std::string& oid,
                                           const std::string& method,
                                           const std::vector<std::string>& args,
                                           std::chrono::seconds timeout) {
  const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(timeout) +
                     timeouts::kProgramGrace + timeouts::kPush;
  return call(g, limit, [&](OServGateway::Service_ptr s) {
    OServ::MethodResult_var r = s->downcall_here(oid.c_str(), method.c_str(), wire::strings(args),
                                                 static_cast<CORBA::ULong>(timeout.count()));
    return wire::result(r.in());
  });
}

void CorbaGateways::forget(const GatewayRecord& g, const std::string& oid,
                           const std::string& redirect) {
  call(g, timeouts::kPush,
       [&](OServGateway::Service_ptr s) { s->forget(oid.c_str(), redirect.c_str()); });
}

std::string CorbaGateways::session_of(const GatewayRecord& g, const std::string& oid) {
  // Short: a gateway that does not answer at once is the one the endpoint is isolated from.
  return call(g, timeouts::kLiveness, [&](OServGateway::Service_ptr s) {
    CORBA::String_var where = s->session_of(oid.c_str());
    return std::string(where.in());
  });
}

std::vector<LiveSession> CorbaGateways::sessions(const GatewayRecord& g) {
  return call(g, timeouts::kPush, [&](OServGateway::Service_ptr s) {
    OServGateway::Sessions_var all = s->logged_in();
    std::vector<LiveSession> out;
    out.reserve(all->length());
    for (CORBA::ULong i = 0; i < all->length(); ++i)
      out.push_back({all[i].oid.in(), all[i].label.in(), all[i].address.in(), all[i].since.in(),
                     all[i].login_kind.in()});
    return out;
  });
}

void CorbaGateways::follow_tmr(const GatewayRecord& g, const std::string& address,
                              std::uint64_t epoch) {
  call(g, timeouts::kPush, [&](OServGateway::Service_ptr s) {
    s->follow_tmr(address.c_str(), epoch);
    return 0;
  });
}

}  // namespace openoserv
