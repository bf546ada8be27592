// Security operations.
#include "SecurityServant.h"

#include <fmt/core.h>

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

}  // namespace openoserv
