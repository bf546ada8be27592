// OServ::Registry: objects, names and installed classes.
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class CorbaPeers;
class ObjectAdapter;

class RegistryServant : public virtual POA_OServ::Registry {
 public:
  RegistryServant(LocalDispatcher& local, ObjectAdapter& adapter, CorbaPeers& peers)
      : local_(local), adapter_(adapter), peers_(peers) {}

  char* create_object(const char* class_name, const char* resource, const char* label) override;
  char* lookup(const char* resource, const char* label) override;
  OServ::NameEntries* list_names(const char* resource) override;
  void register_name(const char* resource, const char* label, const char* oid) override;
  void install_method(const char* class_name, const char* method, const char* program) override;
  void class_update(const char* class_name, const OServ::MethodDefs& methods) override;
  OServ::MethodDefs* class_methods(const char* class_name) override;
  char* object_ior(const char* oid) override;
  char* object_url(const char* oid) override;

 private:
  LocalDispatcher& local_;
  ObjectAdapter& adapter_;
  CorbaPeers& peers_;
};

}  // namespace openoserv
