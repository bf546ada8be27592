// The object under the key "Dispatcher": OServ::Dispatcher is the union of the interfaces by
// concern, so its servant is the union of their servant classes (each implements its own
// interface's operations; interface inheritance is virtual, so each operation has one
// implementation).
#pragma once

#include "AdminServant.h"
#include "DispatchServant.h"
#include "EndpointsServant.h"
#include "RegionServant.h"
#include "RegistryServant.h"
#include "ReplicationServant.h"
#include "SecurityServant.h"
#include "TransactionServant.h"
#include "oserv.hh"

namespace openoserv {

class DispatcherServant final : public POA_OServ::Dispatcher,
                                public AdminServant,
                                public RegionServant,
                                public RegistryServant,
                                public DispatchServant,
                                public TransactionServant,
                                public SecurityServant,
                                public EndpointsServant,
                                public ReplicationServant {
 public:
  DispatcherServant(LocalDispatcher& local, ObjectAdapter& adapter, CorbaPeers& peers)
      : AdminServant(local),
        RegionServant(local),
        RegistryServant(local, adapter, peers),
        DispatchServant(local),
        TransactionServant(local),
        SecurityServant(local),
        EndpointsServant(local, peers),
        ReplicationServant(local) {}
};

}  // namespace openoserv
