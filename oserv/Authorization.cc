// Principals and the check.
#include "Authorization.h"

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <fmt/core.h>

#include "RegionCa.h"

namespace openoserv {

namespace {

std::string login_name(unsigned uid) {
  passwd entry{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &entry, buf, sizeof buf, &found) == 0 && found) return entry.pw_name;
  return "";
}

// "127.0.0.1:41302" of "giop:ssl:127.0.0.1:41302".
std::string without_transport(const std::string& address) {
  if (address.rfind("giop:", 0) != 0) return address;
  const size_t second = address.find(':', 5);
  return second == std::string::npos ? address : address.substr(second + 1);
}

}  // namespace

Principal Authorization::local_user(unsigned uid) {
  // root, and the user the oserv runs as, are the region's root administrator (the common
  // case: no user database lookup).
  if (uid == 0 || uid == ::geteuid()) {
    static const std::string self = login_name(::geteuid());
    const std::string name = uid == 0 ? "root" : self;
    return Principal{.kind = Principal::Kind::kLocal,
                     .name = fmt::format("{} (uid {}, local)", name, uid),
                     .admin = "root",
                     .roles = kAllRoles};
  }
  const std::string user = login_name(uid);
  Principal who{.kind = Principal::Kind::kLocal,
                .name = fmt::format("{} (uid {}, local)", user.empty() ? "?" : user, uid),
                .admin = "",
                .roles = 0};
  if (user.empty()) return who;
  try {
    if (auto admin = admins_.for_login(user, host_)) {
      who.admin = admin->name;
      who.roles = admin->roles;
    }
  } catch (const std::exception& e) {  // a damaged record: no roles, and say why
    log_.line(fmt::format("^administrators unreadable: {}", e.what()));
  }
  return who;
}

Principal Authorization::principal_of(const RequestContext& request) {
  if (request.on_unix_socket()) {
    ucred cred{};
    socklen_t size = sizeof cred;
    if (request.socket >= 0 &&
        ::getsockopt(request.socket, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0)
      return local_user(cred.uid);
    return Principal{.kind = Principal::Kind::kLocal, .name = "an unidentified local client"};
  }
  return certificate_holder(request.peer_certificate, without_transport(request.peer_address),
                            request.on_behalf_of);
}

// A TLS peer: what its verified certificate says, checked against this region and (for an
// administrator) against the administrator's record.
Principal Authorization::certificate_holder(const ::x509_st* cert, const std::string& address,
                                            const std::string& on_behalf_of) {
  // A named caller is named by its host, not its connection: it is the same owner of its
  // transactions from its next process (odb begin, put, commit).
  const std::string host = address.substr(0, address.rfind(':'));
  Principal who{.kind = Principal::Kind::kRemote,
                .name = fmt::format("anonymous TLS client {}", address)};
  const auto peer = tls::peer_of(cert);
  if (!peer) return who;
  const tls::Subject& s = peer->subject;
  if (s.region != region_) {
    who.name = fmt::format("a certificate of region {} ({})", s.region, address);
    return who;
  }
  if (s.kind == tls::Subject::Kind::kDispatcher)
    return Principal{.kind = Principal::Kind::kDispatcher,
                     .name = fmt::format("dispatcher {} ({})", s.od, host),
                     .admin = "",
                     .roles = kAllRoles,
                     .od = s.od,
                     .on_behalf_of = on_behalf_of};
  who.name = fmt::format("{} (client certificate {}, {})", s.name, peer->serial, host);
  if (!admins_.remote_login_allowed()) {
    who.name += ", remote client login not allowed here";
    return who;
  }
  try {
    auto admin = admins_.find(s.name);
    if (!admin || std::find(admin->certificates.begin(), admin->certificates.end(),
                            peer->serial) == admin->certificates.end()) {
      who.name += ", revoked";
      return who;
    }
    who.admin = admin->name;
    who.roles = admin->roles;
  } catch (const std::exception& e) {  // a damaged record: no roles, and say why
    log_.line(fmt::format("^administrators unreadable: {}", e.what()));
  }
  return who;
}

void Authorization::refused(const RequestContext& request, const std::string& why) {
  refusals_.write([this](const std::string& line) { audit_.line(line); },
                  fmt::format("refused {} by {} via {}: {}", request.operation,
                              request.principal.describe(), request.local_address, why),
                  "refused calls");
}

void Authorization::forwarded(const RequestContext& request, const std::string& to) {
  audit_.line(fmt::format("forwarded {} by {} via {} to the primary at {}", request.operation,
                          request.principal.describe(), request.local_address, to));
}

void Authorization::check(RequestContext& request) {
  const OperationRule* rule = rule_for(request.operation);
  // What anyone may call takes small arguments (a join's token and certificate request, _is_a's
  // repository id): a large one, allocated whole as it is read, is refused before it is read.
  if (rule && rule->need == Need::kAnyone && request.large_arguments) {
    request.principal = principal_of(request);
    refused(request, fmt::format("what anyone may call takes at most {} bytes of arguments",
                                 RequestContext::kSmallArguments));
    throw CORBA::NO_PERMISSION(0, CORBA::COMPLETED_NO);
  }
  // What anyone may call needs no identity (ping is the supervisors' and load balancers' call,
  // and the cheapest path); whoami is about the identity.
  if (rule && rule->need == Need::kAnyone && rule->audit == Audit::kNo &&
      request.operation != "whoami")
    return;
  request.principal = principal_of(request);
  if (auto why = refusal(request.principal, request.operation, rule)) {
    refused(request, *why);
    throw CORBA::NO_PERMISSION(0, CORBA::COMPLETED_NO);
  }
  if (rule && rule->audit == Audit::kYes) {
    const std::string line = fmt::format("{} by {} via {}", request.operation,
                                         request.principal.describe(), request.local_address);
    if (rule->need == Need::kAnyone)  // join_region, join_standby: anyone may call them
      anyones_calls_.write([this](const std::string& l) { audit_.line(l); }, line,
                           "calls anyone may make");
    else
      audit_.line(line);
  }
}

void Authorization::invoked(const RequestContext& request, const std::string& oid,
                            const std::string& method) {
  if (!method_audited(method) || method_refusal(request.principal, method)) return;
  audit_.line(fmt::format("{} by {} via {}: {} on {}", request.operation,
                          request.principal.describe(), request.local_address, method, oid));
}

}  // namespace openoserv
