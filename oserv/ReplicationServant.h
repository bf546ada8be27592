// OServ::Replication: the primary's stream and copies for standbys, and the replication status
// (domain/Replication.h).
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class ReplicationServant : public virtual POA_OServ::Replication {
 public:
  explicit ReplicationServant(LocalDispatcher& local) : local_(local) {}

  OServ::ReplicaBatch* replica_fetch(const char* standby, CORBA::ULongLong after,
                                     CORBA::ULong after_crc,
                                     CORBA::ULong wait_ms) override;
  OServ::ReplicaCopy* replica_copy_begin() override;
  OServ::Program* replica_copy_read(const char* id, CORBA::ULongLong offset,
                                    CORBA::ULong size) override;
  void replica_copy_end(const char* id) override;
  OServ::StringList* replication_status() override;
  char* set_replication(const char* mode) override;
  char* promote(CORBA::Boolean planned) override;
  CORBA::ULongLong switchover(const char* hostname, const char* ipaddr, CORBA::UShort port) override;
  CORBA::ULongLong epoch_after(CORBA::ULongLong epoch, CORBA::ULongLong& newest) override;
  OServ::ULongList* replica_checksums(CORBA::ULongLong from, CORBA::ULong count) override;
  void rejoin_standby(const char* hostname, const char* ipaddr, CORBA::UShort port) override;
  char* rejoin(const char* primary) override;
  char* demote() override;
  CORBA::Boolean request_vote(CORBA::ULongLong epoch, const char* candidate, CORBA::ULongLong seq,
                              CORBA::String_out why) override;

 private:
  void primary_only(const char* what) const;
  LocalDispatcher& local_;
};

}  // namespace openoserv
