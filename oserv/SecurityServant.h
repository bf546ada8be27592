// OServ::Security: who the caller is, and the region's administrators.
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class SecurityServant : public virtual POA_OServ::Security {
 public:
  explicit SecurityServant(LocalDispatcher& local) : local_(local) {}

  char* whoami() override;
  OServ::AdminEntries* administrators() override;
  char* set_administrator(const OServ::AdminEntry& entry, CORBA::Boolean create) override;
  char* delete_administrator(const char* name) override;
  void administrators_update(const OServ::AdminEntries& all) override;
  char* join_token(CORBA::ULong uses, CORBA::ULong seconds) override;
  OServ::JoinGrant* join_region(const char* token, const char* csr, const char* hostname,
                                const char* ipaddr, CORBA::UShort port,
                                CORBA::Boolean force_bind) override;
  OServ::StandbyGrant* join_standby(const char* token, const char* csr, const char* hostname,
                                    const char* ipaddr, CORBA::UShort port) override;
  char* issue_certificate(const char* admin, const char* csr, CORBA::ULong days,
                          CORBA::String_out ca) override;
  char* revoke_certificate(const char* admin, const char* serial) override;
  char* renew_certificate(const char* csr) override;
  char* renew_own_certificate() override;
  char* set_allow_rconnect(CORBA::Boolean allow) override;

 private:
  LocalDispatcher& local_;
};

}  // namespace openoserv
