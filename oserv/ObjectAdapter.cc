// The object POA and its servant locator.
#include "ObjectAdapter.h"

#include <fmt/core.h>

#include "Failure.h"
#include "Odlist.h"
#include "OrbInit.h"
#include "RequestContext.h"

namespace openoserv {

class ObjectAdapter::Locator : public POA_PortableServer::ServantLocator {
 public:
  Locator(ObjectAdapter& adapter, RemoteCalls remote) : adapter_(adapter), remote_(remote) {}

  PortableServer::Servant preinvoke(const PortableServer::ObjectId& id, PortableServer::POA_ptr,
                                    const char*, PortableServer::ServantLocator::Cookie&) override {
    const std::string oid(reinterpret_cast<const char*>(id.NP_data()), id.length());
    std::optional<Objects::Location> where;
    try {
      where = adapter_.local_.objects.locate(oid);
    } catch (const std::exception&) {
      // The database cannot be read now, or the owner does not answer: the caller may retry.
      throw CORBA::TRANSIENT();
    }
    if (!where) throw CORBA::OBJECT_NOT_EXIST();
    if (!where->local && remote_ == RemoteCalls::kLocationForward)
      throw PortableServer::ForwardRequest(owner_reference(where->oid.od, oid));
    ObjectServant::set_current(oid);
    return servant_for(where->cls);
  }

  void postinvoke(const PortableServer::ObjectId&, PortableServer::POA_ptr, const char*,
                  PortableServer::ServantLocator::Cookie,
                  PortableServer::Servant) override {
    ObjectServant::set_current({});
  }

 private:
  PortableServer::Servant servant_for(const std::string& cls) {
    if (cls == kManagedNodeClass) return &adapter_.managed_node_;
    if (cls == kTaskLibraryClass) return &adapter_.task_library_;
    if (cls == kEndpointManagerClass) return &adapter_.endpoint_manager_;
    if (cls == kGatewayClass) return &adapter_.gateway_;
    if (cls == kEndpointClass) return &adapter_.endpoint_;
    return &adapter_.plain_;
  }

  CORBA::Object_ptr owner_reference(std::uint32_t od, const std::string& oid) {
    auto rec = odlist::find(adapter_.local_.db, od);
    if (!rec) throw CORBA::OBJECT_NOT_EXIST();
    const std::string url =
        corbaloc_url(rec->address(), corbaloc_key(oid));
    return adapter_.orb_->string_to_object(url.c_str());
  }

  ObjectAdapter& adapter_;
  RemoteCalls remote_;
};

ObjectAdapter::ObjectAdapter(CORBA::ORB_ptr orb, PortableServer::POA_ptr root,
                             LocalDispatcher& local, RemoteCalls remote)
    : orb_(orb),
      local_(local),
      managed_node_(local),
      task_library_(local),
      endpoint_manager_(local),
      gateway_(local),
      endpoint_(local),
      plain_(local),
      locator_(std::make_unique<Locator>(*this, remote)) {
  CORBA::PolicyList policies;
  policies.length(4);
  policies[0] = root->create_lifespan_policy(PortableServer::PERSISTENT);
  policies[1] = root->create_id_assignment_policy(PortableServer::USER_ID);
  policies[2] = root->create_servant_retention_policy(PortableServer::NON_RETAIN);
  policies[3] = root->create_request_processing_policy(PortableServer::USE_SERVANT_MANAGER);
  PortableServer::POAManager_var manager = root->the_POAManager();
  poa_ = root->create_POA(kObjectPoaName, manager, policies);
  for (CORBA::ULong i = 0; i < policies.length(); ++i) policies[i]->destroy();
  PortableServer::ServantLocator_var ref = locator_->_this();
  poa_->set_servant_manager(ref);
}

ObjectAdapter::~ObjectAdapter() = default;

const char* ObjectAdapter::repository_id(const std::string& cls) {
  if (cls == kManagedNodeClass) return OServ::ManagedNode::_PD_repoId;
  if (cls == kTaskLibraryClass) return OServ::TaskLibrary::_PD_repoId;
  if (cls == kEndpointManagerClass) return OServ::EndpointManager::_PD_repoId;
  if (cls == kGatewayClass) return OServ::Gateway::_PD_repoId;
  if (cls == kEndpointClass) return OServ::Endpoint::_PD_repoId;
  return OServ::Object::_PD_repoId;
}

std::string ObjectAdapter::ior(const std::string& oid) {
  auto where = local_.objects.locate(oid);
  if (!where || !where->local)
    fail(fmt::format("object {} does not exist on dispatcher {}", oid, local_.info.od));
  // The reference names the object by its full OID, class included, as wlookup prints it.
  Oid full = where->oid;
  full.cls = where->cls;
  const std::string text = full.text();
  PortableServer::ObjectId id(static_cast<CORBA::ULong>(text.size()),
                              static_cast<CORBA::ULong>(text.size()),
                              reinterpret_cast<CORBA::Octet*>(const_cast<char*>(text.data())), 0);
  CORBA::Object_var ref = poa_->create_reference_with_id(id, repository_id(where->cls));
  CORBA::String_var ior = orb_->object_to_string(ref);
  return ior.in();
}

}  // namespace openoserv
