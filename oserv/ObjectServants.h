// The servants of framework objects: one per interface, shared by every object of it. A servant
// holds no object: the object adapter's locator tells it, per request, which OID the call is for
// (ObjectServant::current()), and it calls the domain with that OID. So a million objects cost
// nothing until called.
#pragma once

#include <string>
#include <vector>

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class ObjectServant : public virtual POA_OServ::Object {
 public:
  explicit ObjectServant(LocalDispatcher& local) : local_(local) {}

  char* oid() override;
  char* class_name() override;
  OServ::MethodResult* invoke(const char* method, const OServ::StringList& args) override;

  // The OID the request on this thread is for.
  static const std::string& current();
  static void set_current(std::string oid);

 protected:
  MethodOutcome call(const std::string& method, const std::vector<std::string>& args = {});
  // A built-in method's output without its last newline; Failed when the method failed.
  char* call_for_text(const std::string& method, const std::vector<std::string>& args = {});

  LocalDispatcher& local_;
};

class ManagedNodeServant final : public POA_OServ::ManagedNode, public ObjectServant {
 public:
  using ObjectServant::ObjectServant;
  char* ping() override;
  char* hostname() override;
  OServ::MethodResult* run_script(const char* script) override;
  char* host_gateway(const char* label, CORBA::UShort port) override;
};

class TaskLibraryServant final : public POA_OServ::TaskLibrary, public ObjectServant {
 public:
  using ObjectServant::ObjectServant;
  void add_task(const char* name, const char* script) override;
  OServ::StringList* list_tasks() override;
  OServ::MethodResult* run_task(const char* name, const char* node) override;
};

// The endpoint tier's objects.
class EndpointManagerServant final : public POA_OServ::EndpointManager, public ObjectServant {
 public:
  using ObjectServant::ObjectServant;
};
class GatewayServant final : public POA_OServ::Gateway, public ObjectServant {
 public:
  using ObjectServant::ObjectServant;
  char* start_gateway() override;
  char* stop_gateway() override;
  char* gateway_status() override;
};
class EndpointServant final : public POA_OServ::Endpoint, public ObjectServant {
 public:
  using ObjectServant::ObjectServant;
};

// The generic servant for objects of installed classes.
class PlainObjectServant final : public ObjectServant {
 public:
  using ObjectServant::ObjectServant;
};

}  // namespace openoserv
