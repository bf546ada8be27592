// The Dispatcher CORBA object: liveness, status, odlist and the odadmin administrative calls.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "DispatcherState.h"
#include "MethodThreads.h"
#include "Objects.h"
#include "oserv.hh"

namespace openoserv {

class DispatcherServant : public POA_OServ::Dispatcher {
 public:
  DispatcherServant(DispatcherState& state, Objects& objects, MethodThreads& threads)
      : state_(state), objects_(objects), threads_(threads) {}

  void ping() override {}
  OServ::StatusBlock* status() override;
  OServ::OdEntries* odlist() override;
  char* set_force_bind(CORBA::Boolean on, CORBA::ULong od) override;
  char* change_ip(CORBA::ULong od, const char* ipaddr, CORBA::Boolean notify) override;
  char* add_hostname_alias(CORBA::ULong od, const char* ipaddr, const char* name) override;
  char* delete_hostname_alias(CORBA::ULong od, const char* ipaddr, const char* name) override;
  CORBA::ULong register_node(const char* hostname, const char* ipaddr, CORBA::UShort port,
                             CORBA::Boolean force_bind, CORBA::ULong& region,
                             OServ::OdEntries_out odlist) override;
  OServ::OdEntries* node_started(CORBA::ULong od, const char* ipaddr, CORBA::UShort port) override;
  void odlist_update(const OServ::OdEntries& odlist) override;
  char* ping_od(CORBA::ULong od) override;
  OServ::MethodResult* invoke(const char* oid, const char* method,
                              const OServ::StringList& args) override;
  char* create_object(const char* class_name, const char* resource, const char* label) override;
  char* lookup(const char* resource, const char* label) override;
  OServ::StringList* list_names(const char* resource) override;
  void register_name(const char* resource, const char* label, const char* oid) override;
  void install_method(const char* class_name, const char* method, const char* program) override;
  void class_update(const char* class_name, const OServ::MethodDefs& methods) override;
  OServ::MethodDefs* class_methods(const char* class_name) override;
  OServ::MethodThreads* odstat() override;
  OServ::StringList* health(CORBA::ULong max_method_seconds) override;
  char* db_sync() override;
  char* shutdown(CORBA::ULong od) override;
  char* ior() override;

  CORBA::ULongLong txn_begin(CORBA::ULongLong parent, const char* label) override;
  void txn_put(CORBA::ULongLong txn, const char* table, const char* key,
               const char* value) override;
  void txn_erase(CORBA::ULongLong txn, const char* table, const char* key) override;
  char* txn_get(CORBA::ULongLong txn, const char* table, const char* key,
                CORBA::Boolean& found) override;
  void attr_set(CORBA::ULongLong txn, const char* oid, const char* name,
                const CORBA::Any& value) override;
  CORBA::Any* attr_get(CORBA::ULongLong txn, const char* oid, const char* name,
                       CORBA::Boolean& found) override;
  void txn_commit(CORBA::ULongLong txn) override;
  void txn_abort(CORBA::ULongLong txn) override;
  char* backup(const char* target_dir) override;
  void tmstat(OServ::TxnEntries_out txns, OServ::LockEntries_out locks,
              CORBA::ULongLong& journal_bytes, CORBA::ULongLong& journal_file_bytes) override;

  // Rolls back every transaction still open (at shutdown), children before parents.
  void abort_open_transactions();

 private:
  // One open transaction; its mutex serialises calls on it (a lock wait holds only this one).
  struct OpenTxn {
    std::mutex mu;
    std::unique_ptr<db::Transaction> txn;
  };
  std::shared_ptr<OpenTxn> find_txn(CORBA::ULongLong id);
  void forget_txn(CORBA::ULongLong id);
  // Applies `edit` to dispatcher `od`'s odlist record at the TMR server (forwarding the call
  // there from a managed node via `forward`), then sends the odlist to the region.
  template <typename Edit, typename Forward>
  char* edit_odlist(CORBA::ULong od, const char* what, Edit&& edit, Forward&& forward,
                    bool notify = true);
  std::mutex registration_mu_;

  DispatcherState& state_;
  Objects& objects_;
  MethodThreads& threads_;
  std::mutex txns_mu_;
  std::map<CORBA::ULongLong, std::shared_ptr<OpenTxn>> txns_;
};

}  // namespace openoserv
