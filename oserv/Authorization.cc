// Principals and the check.
#include "Authorization.h"

#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/core.h>

namespace openoserv {

namespace {

std::string login_name(unsigned uid) {
  passwd entry{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &entry, buf, sizeof buf, &found) == 0 && found) return entry.pw_name;
  return "";
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
  const std::string& peer = request.peer_address;
  if (peer.rfind("giop:unix:", 0) == 0) {
    ucred cred{};
    socklen_t size = sizeof cred;
    if (request.socket >= 0 &&
        ::getsockopt(request.socket, SOL_SOCKET, SO_PEERCRED, &cred, &size) == 0)
      return local_user(cred.uid);
    return Principal{.kind = Principal::Kind::kLocal, .name = "an unidentified local client"};
  }
  // Until the region's dispatchers authenticate with TLS certificates, an IIOP caller proves
  // nothing: it is trusted as a dispatcher of the region (docs/SECURITY.md).
  return Principal{.kind = Principal::Kind::kDispatcher,
                   .name = fmt::format("unauthenticated IIOP caller {}", peer),
                   .admin = "",
                   .roles = kAllRoles,
                   .on_behalf_of = request.on_behalf_of};
}

void Authorization::refused(const RequestContext& request, const std::string& why) {
  audit_.line(fmt::format("refused {} by {} via {}: {}", request.operation,
                          request.principal.describe(), request.local_address, why));
}

void Authorization::check(RequestContext& request) {
  const OperationRule* rule = rule_for(request.operation);
  // What anyone may call needs no identity (ping is the supervisors' and load balancers' call,
  // and the cheapest path); whoami is about the identity.
  if (rule && rule->need == Need::kAnyone && !rule->audited && request.operation != "whoami")
    return;
  request.principal = principal_of(request);
  if (auto why = refusal(request.principal, request.operation, rule)) {
    refused(request, *why);
    throw CORBA::NO_PERMISSION(0, CORBA::COMPLETED_NO);
  }
  if (rule && rule->audited)
    audit_.line(fmt::format("{} by {} via {}", request.operation, request.principal.describe(),
                            request.local_address));
}

}  // namespace openoserv
