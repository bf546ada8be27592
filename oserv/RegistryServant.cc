// Registry operations.
#include "RegistryServant.h"

#include <fmt/core.h>

#include "CorbaPeers.h"
#include "Odlist.h"
#include "OrbInit.h"
#include "ObjectAdapter.h"
#include "ServantSupport.h"
#include "WireConvert.h"

namespace openoserv {

char* RegistryServant::create_object(const char* class_name, const char* resource,
                                     const char* label) {
  return guarded([&] { return dup(local_.objects.create_object(class_name, resource, label)); });
}

char* RegistryServant::lookup(const char* resource, const char* label) {
  return guarded([&] { return dup(local_.objects.lookup(resource, label)); });
}

OServ::NameEntries* RegistryServant::list_names(const char* resource) {
  return guarded(
      [&] { return new OServ::NameEntries(wire::names(local_.objects.list_names(resource))); });
}

void RegistryServant::register_name(const char* resource, const char* label, const char* oid) {
  guarded([&] { local_.objects.register_name(resource, label, oid); });
}

void RegistryServant::install_method(const char* class_name, const char* method,
                                     const char* program) {
  guarded([&] { local_.objects.install_method(class_name, method, program); });
}

void RegistryServant::class_update(const char* class_name, const OServ::MethodDefs& methods) {
  guarded([&] { local_.objects.store_class(class_name, wire::methods(methods)); });
}

OServ::MethodDefs* RegistryServant::class_methods(const char* class_name) {
  return guarded(
      [&] { return new OServ::MethodDefs(wire::methods(local_.objects.class_methods(class_name))); });
}

namespace {

Oid in_region(const char* oid, std::uint32_t region) {
  const Oid parsed = Oid::parse(oid);
  if (parsed.region != region)
    fail(fmt::format("object {} belongs to region {}, not to this region ({})", oid,
                     parsed.region, region));
  return parsed;
}

}  // namespace

char* RegistryServant::object_ior(const char* oid) {
  return guarded([&] {
    const Oid parsed = in_region(oid, local_.info.region);
    if (parsed.od != local_.info.od) return dup(peers_.object_ior(parsed.od, oid));
    return dup(adapter_.ior(oid));
  });
}

char* RegistryServant::object_url(const char* oid) {
  return guarded([&] {
    const Oid parsed = in_region(oid, local_.info.region);
    const auto owner = odlist::find(local_.db, parsed.od);
    if (!owner)
      fail(fmt::format("object {} belongs to dispatcher {}, which is not in the odlist", oid,
                       parsed.od));
    return dup(corbaloc_url(owner->address(), corbaloc_key(oid)));
  });
}

}  // namespace openoserv
