// RegionAdmin operations.
#include "RegionServant.h"

#include "ServantSupport.h"
#include "WireConvert.h"

namespace openoserv {

OServ::OdEntries* RegionServant::odlist() {
  return guarded([&] {
    const auto members = local_.region.members();
    std::vector<OdRecord> records;
    for (const auto& m : members) records.push_back(m.record);
    auto list = std::make_unique<OServ::OdEntries>(wire::odlist(records));
    for (CORBA::ULong i = 0; i < members.size(); ++i) (*list)[i].connected = members[i].connected;
    return list.release();
  });
}

char* RegionServant::edit(const OdlistEdit& e) {
  return guarded([&] { return dup(local_.region.edit(e)); });
}

char* RegionServant::set_force_bind(CORBA::Boolean on, CORBA::ULong od) {
  return edit({.kind = OdlistEdit::Kind::kForceBind, .od = od, .flag = static_cast<bool>(on)});
}

char* RegionServant::change_ip(CORBA::ULong od, const char* ipaddr, CORBA::Boolean notify) {
  return edit({.kind = OdlistEdit::Kind::kChangeIp, .od = od, .ip = ipaddr,
               .flag = static_cast<bool>(notify)});
}

char* RegionServant::add_hostname_alias(CORBA::ULong od, const char* ipaddr, const char* name) {
  return edit({.kind = OdlistEdit::Kind::kAddAlias, .od = od, .ip = ipaddr, .name = name});
}

char* RegionServant::delete_hostname_alias(CORBA::ULong od, const char* ipaddr,
                                           const char* name) {
  return edit({.kind = OdlistEdit::Kind::kDeleteAlias, .od = od, .ip = ipaddr, .name = name});
}

OServ::OdEntries* RegionServant::node_started(CORBA::ULong od, const char* ipaddr,
                                              CORBA::UShort port) {
  return guarded(
      [&] { return new OServ::OdEntries(wire::odlist(local_.region.node_started(od, ipaddr, port))); });
}

void RegionServant::odlist_update(const OServ::OdEntries& odlist) {
  guarded([&] { local_.region.odlist_update(wire::odlist(odlist)); });
}

char* RegionServant::ping_od(CORBA::ULong od) {
  return guarded([&] { return dup(local_.region.ping(od)); });
}

}  // namespace openoserv
