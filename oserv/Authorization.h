// The access check every request passes (installed into the request interceptor): who the
// caller is (domain/Access.h's principals, from what the connection proves) and whether the
// operation's rule lets it call. Refusals, and every allowed call that changes state or runs a
// program, are written to the audit log (DBDIR/audit.log, 0600), not to the oservlog (whose
// readers need not see them, and which a caller hammering on refusals must not flood).
#pragma once

#include <cstdint>
#include <string>

#include "Access.h"
#include "Administrators.h"
#include "LogLimit.h"
#include "OservLog.h"
#include "RequestContext.h"

namespace openoserv {

class Authorization {
 public:
  // `host`: this machine's name, for logins "user@host"; `region`: this dispatcher's region.
  Authorization(Administrators& admins, OservLog& log, OservLog& audit, std::string host,
                std::uint32_t region)
      : admins_(admins), log_(log), audit_(audit), host_(std::move(host)), region_(region) {}

  // Sets request.principal; throws CORBA::NO_PERMISSION when the operation is not allowed.
  void check(RequestContext& request);

  Principal principal_of(const RequestContext& request);
  // The holder of a TLS peer's verified certificate `cert` (null: none), connected from
  // `address` ("IP:PORT"): a dispatcher, an administrator (if not revoked and remote client
  // login is allowed here), or anonymous. `on_behalf_of`: whom a dispatcher relays for.
  Principal certificate_holder(const ::x509_st* cert, const std::string& address,
                               const std::string& on_behalf_of = "");
  // A refusal a servant made (a method's role): to the audit log like the check's own (within
  // the refusals' limit).
  void refused(const RequestContext& request, const std::string& why);
  // A standby passed the request on to its primary at `to` (the audit log says so).
  void forwarded(const RequestContext& request, const std::string& to);
  // The generic invoke, once the method is known: to the audit log if the method is audited
  // (domain/Access.h, method_audited) and the caller may run it (a refusal is logged as such).
  void invoked(const RequestContext& request, const std::string& oid, const std::string& method);

 private:
  Principal local_user(unsigned uid);

  Administrators& admins_;
  OservLog& log_;
  OservLog& audit_;
  // Refused calls: any caller may make them as fast as it can, so their audit lines are
  // limited (bursts of 200, then 5 a second; the lines left out are counted in the next).
  LogLimit refusals_;
  LogLimit anyones_calls_;  // the same for the audited calls anyone may make (join_region)
  const std::string host_;
  const std::uint32_t region_;
};

}  // namespace openoserv
