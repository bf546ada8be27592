// OServ::Transactions: framework transactions held open across calls, attributes, tmstat.
#pragma once

#include "LocalDispatcher.h"
#include "oserv.hh"

namespace openoserv {

class TransactionServant : public virtual POA_OServ::Transactions {
 public:
  explicit TransactionServant(LocalDispatcher& local) : local_(local) {}

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
  void tmstat(OServ::TxnEntries_out txns, OServ::LockEntries_out locks,
              CORBA::ULongLong& journal_bytes, CORBA::ULongLong& journal_file_bytes) override;

 private:
  LocalDispatcher& local_;
};

}  // namespace openoserv
