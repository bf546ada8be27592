// OServ::RegionAdmin: the odlist, its edits, membership, wping.
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class RegionServant : public virtual POA_OServ::RegionAdmin {
 public:
  explicit RegionServant(LocalDispatcher& local) : local_(local) {}

  OServ::OdEntries* odlist() override;
  char* set_force_bind(CORBA::Boolean on, CORBA::ULong od) override;
  char* change_ip(CORBA::ULong od, const char* ipaddr, CORBA::Boolean notify) override;
  char* add_hostname_alias(CORBA::ULong od, const char* ipaddr, const char* name) override;
  char* delete_hostname_alias(CORBA::ULong od, const char* ipaddr, const char* name) override;
  OServ::OdEntries* node_started(CORBA::ULong od, const char* ipaddr, CORBA::UShort port) override;
  void odlist_update(const OServ::OdEntries& odlist) override;
  char* ping_od(CORBA::ULong od) override;

 private:
  char* edit(const OdlistEdit& e);
  LocalDispatcher& local_;
};

}  // namespace openoserv
