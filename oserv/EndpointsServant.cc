// The Endpoint Manager's operations.
#include "EndpointsServant.h"

#include <ctime>

#include <fmt/core.h>

#include "CorbaPeers.h"
#include "Failure.h"
#include "RequestContext.h"
#include "ServantSupport.h"
#include "Timeouts.h"
#include "WireConvert.h"

namespace openoserv {

template <typename Here, typename There>
auto EndpointsServant::at_tmr(Here&& here, There&& there) -> decltype(here()) {
  return guarded([&] {
    if (local_.info.od == kTmrDispatcher) return here();
    try {
      return peers_.call(kTmrDispatcher, timeouts::kTmrCall, there);
    } catch (const Unreachable& e) {
      fail(fmt::format("the Endpoint Manager is at the TMR server, and {}", e.what()));
    }
  });
}

namespace {
void tmr_only(const LocalDispatcher& local) {
  if (local.info.od != kTmrDispatcher)
    fail(fmt::format("the Endpoint Manager is at the TMR server (dispatcher 1); this is "
                     "dispatcher {}",
                     local.info.od));
}
}  // namespace

char* EndpointsServant::create_gateway(const char* node, const char* label, CORBA::UShort port) {
  return at_tmr(
      [&] {
        return dup(local_.endpoint_manager.create_gateway(node, label, port,
                                                          &RequestContext::current().principal));
      },
      [&](OServ::Dispatcher_ptr d) { return d->create_gateway(node, label, port); });
}

OServ::GatewayEntries* EndpointsServant::gateways() {
  return at_tmr(
      [&] { return new OServ::GatewayEntries(wire::gateways(local_.endpoint_manager.gateways())); },
      [&](OServ::Dispatcher_ptr d) { return d->gateways(); });
}

char* EndpointsServant::delete_gateway(const char* label) {
  return at_tmr(
      [&] {
        local_.endpoint_manager.delete_gateway(label);
        return dup(fmt::format("Deleted gateway {}.", label));
      },
      [&](OServ::Dispatcher_ptr d) { return d->delete_gateway(label); });
}

OServ::EndpointEntries* EndpointsServant::endpoints(const char* gateway) {
  return at_tmr(
      [&] {
        return new OServ::EndpointEntries(
            wire::endpoints(local_.endpoint_manager.endpoints(gateway)));
      },
      [&](OServ::Dispatcher_ptr d) { return d->endpoints(gateway); });
}

OServ::EndpointSessions* EndpointsServant::gateway_sessions(const char* gateway) {
  return at_tmr(
      [&] {
        const auto all = local_.endpoint_manager.sessions(gateway);
        auto out = std::make_unique<OServ::EndpointSessions>(static_cast<CORBA::ULong>(all.size()));
        out->length(static_cast<CORBA::ULong>(all.size()));
        for (CORBA::ULong i = 0; i < all.size(); ++i) {
          (*out)[i].oid = all[i].oid.c_str();
          (*out)[i].label = all[i].label.c_str();
          (*out)[i].address = all[i].address.c_str();
          (*out)[i].since = all[i].since.c_str();
          (*out)[i].login_kind = all[i].login_kind.c_str();
        }
        return out.release();
      },
      [&](OServ::Dispatcher_ptr d) { return d->gateway_sessions(gateway); });
}

char* EndpointsServant::migrate_endpoint(const char* endpoint, const char* gateway) {
  return at_tmr(
      [&] {
        auto e = local_.endpoint_manager.migrate(endpoint, gateway);
        return dup(fmt::format("Endpoint {} now belongs to gateway {}.", e.label, e.gateway));
      },
      [&](OServ::Dispatcher_ptr d) { return d->migrate_endpoint(endpoint, gateway); });
}

char* EndpointsServant::set_login_interfaces(const char* endpoint, const char* gateway,
                                             const char* interfaces) {
  return at_tmr(
      [&] {
        std::string text;
        for (const auto& line :
             local_.endpoint_manager.set_login_interfaces(endpoint, gateway, interfaces))
          text += line + "\n";
        if (text.empty()) text = fmt::format("Gateway {} has no endpoints.\n", gateway);
        return dup(text);
      },
      [&](OServ::Dispatcher_ptr d) { return d->set_login_interfaces(endpoint, gateway, interfaces); });
}

char* EndpointsServant::delete_endpoint(const char* endpoint) {
  return at_tmr(
      [&] {
        local_.endpoint_manager.remove_endpoint(endpoint);
        return dup(fmt::format("Deleted endpoint {}.", endpoint));
      },
      [&](OServ::Dispatcher_ptr d) { return d->delete_endpoint(endpoint); });
}

OServ::EndpointEntries* EndpointsServant::gateway_started(const char* label, const char* ior,
                                                          OServ::GatewayEntries_out others) {
  return guarded([&] {
    tmr_only(local_);
    std::vector<GatewayRecord> rest;
    auto mine = local_.endpoint_manager.gateway_started(label, ior, rest);
    others = new OServ::GatewayEntries(wire::gateways(rest));
    return new OServ::EndpointEntries(wire::endpoints(mine));
  });
}

OServ::EndpointGrant* EndpointsServant::endpoint_login(const char* kind, const char* label,
                                                       const char* oid, const char* key,
                                                       const char* interp, const char* address,
                                                       const char* via) {
  return guarded([&] {
    tmr_only(local_);
    auto a = local_.endpoint_manager.login({.kind = kind, .label = label, .oid = oid, .key = key,
                                            .interp = interp, .address = address, .via = via,
                                            .now = static_cast<long long>(::time(nullptr))});
    auto grant = std::make_unique<OServ::EndpointGrant>();
    grant->endpoint = wire::endpoint(a.endpoint);
    grant->key = a.key.c_str();
    grant->alternates = wire::gateways(a.alternates);
    grant->gateway = wire::gateway(a.gateway);
    return grant.release();
  });
}

void EndpointsServant::endpoints_seen(const char* gateway, const OServ::LoginNotes& notes) {
  guarded([&] {
    tmr_only(local_);
    std::vector<EndpointManager::Seen> seen;
    for (CORBA::ULong i = 0; i < notes.length(); ++i)
      seen.push_back({notes[i].oid.in(), notes[i].address.in(), notes[i].when});
    local_.endpoint_manager.endpoints_seen(gateway, seen);
  });
}

OServ::Program* EndpointsServant::method_body(const char* digest) {
  return guarded([&] {
    tmr_only(local_);
    const std::string body = local_.endpoint_manager.method_body(digest);
    auto out = std::make_unique<OServ::Program>(static_cast<CORBA::ULong>(body.size()));
    out->length(static_cast<CORBA::ULong>(body.size()));
    std::copy(body.begin(), body.end(), out->get_buffer());
    return out.release();
  });
}

char* EndpointsServant::endpoint_upcall(const char* oid, CORBA::ULongLong id, const char* method,
                                        const OServ::StringList& args) {
  return guarded([&] {
    tmr_only(local_);
    return dup(local_.endpoint_manager.upcall(oid, id, method, wire::strings(args)) ? "recorded"
                                                                                   : "duplicate");
  });
}

}  // namespace openoserv
