// Framework objects as CORBA objects: the persistent POA "OID" (USER_ID, NON_RETAIN,
// USE_SERVANT_MANAGER) whose object ids are OIDs, on the oserv's fixed endpoints, with a servant
// locator that serves each request with the shared servant of the object's interface. No servant
// per object is made or kept, and references stay valid across restarts and failovers: the POA
// key "\xffOID\0<oid>" and the published address are all they hold.
//
// A call on an object this dispatcher does not own is either relayed to the owner (the servant
// calls the domain, which calls the owner; the caller's thread shows as rwait in odstat, and the
// caller needs no route to the owner) or answered with GIOP LOCATION_FORWARD to the owner's
// reference, so that the caller's ORB goes there itself. Relaying is the default: see
// docs/ARCHITECTURE.md and docs/PERFORMANCE.md for the measurements behind the choice.
#pragma once

#include <memory>
#include <string>

#include "LocalDispatcher.h"
#include "ObjectServants.h"

namespace openoserv {

class ObjectAdapter {
 public:
  enum class RemoteCalls { kRelay, kLocationForward };

  ObjectAdapter(CORBA::ORB_ptr orb, PortableServer::POA_ptr root, LocalDispatcher& local,
                RemoteCalls remote);
  ~ObjectAdapter();
  ObjectAdapter(const ObjectAdapter&) = delete;
  ObjectAdapter& operator=(const ObjectAdapter&) = delete;

  // The IOR of local object `oid`. Throws Failure when there is no such object here.
  std::string ior(const std::string& oid);
  // The interface a class's objects have: "IDL:OServ/ManagedNode:1.0", ... or
  // "IDL:OServ/Object:1.0".
  static const char* repository_id(const std::string& cls);

 private:
  class Locator;
  CORBA::ORB_ptr orb_;
  LocalDispatcher& local_;
  ManagedNodeServant managed_node_;
  TaskLibraryServant task_library_;
  EndpointManagerServant endpoint_manager_;
  GatewayServant gateway_;
  EndpointServant endpoint_;
  PlainObjectServant plain_;
  std::unique_ptr<Locator> locator_;
  PortableServer::POA_var poa_;
};

}  // namespace openoserv
