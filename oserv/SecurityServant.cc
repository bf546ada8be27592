// Security operations.
#include "SecurityServant.h"

#include <ctime>
#include <memory>

#include <fmt/core.h>

#include "Failure.h"
#include "Odlist.h"
#include "RegionCa.h"
#include "RequestContext.h"
#include "ServantSupport.h"
#include "WireConvert.h"

namespace openoserv {

char* SecurityServant::whoami() {
  const Principal& who = RequestContext::current().principal;
  return dup(fmt::format("{}: {}", who.describe(), roles_text(who.roles)));
}

OServ::AdminEntries* SecurityServant::administrators() {
  return guarded([&] { return new OServ::AdminEntries(wire::admins(local_.administrators.all())); });
}

char* SecurityServant::set_administrator(const OServ::AdminEntry& entry, CORBA::Boolean create) {
  return guarded([&] { return dup(local_.administrators.set(wire::admin(entry), create)); });
}

char* SecurityServant::delete_administrator(const char* name) {
  return guarded([&] { return dup(local_.administrators.remove(name)); });
}

void SecurityServant::administrators_update(const OServ::AdminEntries& all) {
  guarded([&] { local_.administrators.replace_all(wire::admins(all)); });
}

namespace {
void tmr_only(const LocalDispatcher& local, const char* what) {
  if (local.info.od != kTmrDispatcher)
    fail(fmt::format("{} is done at the TMR server (dispatcher 1), which holds the region CA's "
                     "key; this is dispatcher {}",
                     what, local.info.od));
}
}  // namespace

char* SecurityServant::join_token(CORBA::ULong uses, CORBA::ULong seconds) {
  return guarded([&] {
    tmr_only(local_, "join_token");
    return dup(local_.certificates.new_join_token(uses, std::chrono::seconds(seconds)));
  });
}

OServ::JoinGrant* SecurityServant::join_region(const char* token, const char* csr,
                                               const char* hostname, const char* ipaddr,
                                               CORBA::UShort port, CORBA::Boolean force_bind) {
  return guarded([&] {
    tmr_only(local_, "joining the region");
    local_.certificates.redeem_join_token(token);
    auto joined = local_.region.register_node(hostname, ipaddr, port, force_bind);
    auto grant = std::make_unique<OServ::JoinGrant>();
    grant->od = joined.od;
    grant->region = joined.region;
    grant->odlist = wire::odlist(joined.odlist);
    grant->certificate = local_.certificates.certify_dispatcher(joined.od, ipaddr, csr).c_str();
    grant->ca = local_.certificates.ca_pem().c_str();
    return grant.release();
  });
}

// A standby's certificate names dispatcher 1 at the standby's own address: once promoted it is
// dispatcher 1 there. Until then it follows the primary, and the epoch tells the region which
// of the two speaks for dispatcher 1 (docs/REPLICATION.md).
OServ::StandbyGrant* SecurityServant::join_standby(const char* token, const char* csr,
                                                   const char* hostname, const char* ipaddr,
                                                   CORBA::UShort port) {
  return guarded([&] {
    tmr_only(local_, "adding a standby TMR server");
    if (local_.follower) fail("this is a standby TMR server; a standby joins the primary");
    local_.certificates.redeem_join_token(token);
    auto grant = std::make_unique<OServ::StandbyGrant>();
    grant->region = local_.info.region;
    grant->odlist = wire::odlist(odlist::load(local_.db));
    grant->certificate = local_.certificates.certify_dispatcher(kTmrDispatcher, ipaddr, csr).c_str();
    grant->ca = local_.certificates.ca_pem().c_str();
    grant->ca_key = local_.certificates.ca_key().c_str();
    local_.replication.add_standby(hostname, ipaddr, port);
    return grant.release();
  });
}

char* SecurityServant::issue_certificate(const char* admin, const char* csr, CORBA::ULong days,
                                         CORBA::String_out ca) {
  return guarded([&] {
    tmr_only(local_, "issuing a client certificate");
    std::string cert = local_.certificates.certify_administrator(
        admin, csr, std::chrono::hours(24) * static_cast<long>(days));
    ca = dup(local_.certificates.ca_pem());
    return dup(cert);
  });
}

char* SecurityServant::revoke_certificate(const char* admin, const char* serial) {
  return guarded([&] {
    tmr_only(local_, "revoking a client certificate");
    return dup(local_.certificates.revoke(admin, serial));
  });
}

char* SecurityServant::renew_certificate(const char* csr) {
  return guarded([&] {
    tmr_only(local_, "renewing a dispatcher's certificate");
    const Principal& who = RequestContext::current().principal;
    const auto rec = odlist::find(local_.db, who.od);
    if (!rec) fail(fmt::format("dispatcher {} is not in the odlist", who.od));
    local_.log.line(fmt::format("certificate renewed for dispatcher {}", who.od));
    return dup(local_.certificates.certify_dispatcher(who.od, rec->ip, csr));
  });
}

char* SecurityServant::renew_own_certificate() {
  return guarded([&] {
    const tls::KeyRequest request = tls::make_request();
    const auto& info = local_.info;
    std::string cert;
    if (info.od == kTmrDispatcher) {
      const auto rec = odlist::find(local_.db, info.od);
      cert = local_.certificates.certify_dispatcher(info.od, rec ? rec->ip : info.ip,
                                                    request.csr_pem);
    } else {
      cert = local_.peers.renew_certificate(request.csr_pem);
    }
    if (auto why = tls::verify(local_.certificates.ca_pem(), cert))
      fail(fmt::format("the TMR server's certificate does not verify: {}", *why));
    local_.certificates.save_own(request.key_pem, cert);
    const std::string serial = tls::serial_of(cert);
    local_.log.line(
        fmt::format("new certificate {} saved; in use from the next start", serial));
    return dup(fmt::format("Dispatcher {} has a new certificate (serial {}, valid until {}). It "
                           "is used from this oserv's next start (oserv.rc restart, or a planned "
                           "move); the other dispatchers accept both meanwhile.",
                           info.od, serial, tls::expiry_date(cert)));
  });
}

char* SecurityServant::set_allow_rconnect(CORBA::Boolean allow) {
  return guarded([&] { return dup(local_.administrators.set_remote_login(allow)); });
}

}  // namespace openoserv
