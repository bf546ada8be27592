// Transactions operations.
#include "TransactionServant.h"

#include <fmt/core.h>

#include "LockTable.h"
#include "Oid.h"
#include "Records.h"
#include "RequestContext.h"
#include "ServantSupport.h"

namespace openoserv {

namespace {

// Whose transactions these are: the caller, as the access check named it.
const std::string& owner() { return RequestContext::current().principal.name; }

db::Table table(const char* name) {
  if (auto t = db::table_from_name(name)) return *t;
  fail(fmt::format("unknown table '{}' (meta, odlist, objects, attributes, classes, names)", name));
}

}  // namespace

CORBA::ULongLong TransactionServant::txn_begin(CORBA::ULongLong parent, const char* label) {
  return guarded([&] { return local_.transactions.begin(parent, label, owner()); });
}

void TransactionServant::txn_put(CORBA::ULongLong txn, const char* t, const char* key,
                                 const char* value) {
  guarded([&] {
    local_.transactions.with(txn, owner(), [&](db::Transaction& x) { x.put(table(t), key, value); });
  });
}

void TransactionServant::txn_erase(CORBA::ULongLong txn, const char* t, const char* key) {
  guarded([&] {
    local_.transactions.with(txn, owner(), [&](db::Transaction& x) { x.erase(table(t), key); });
  });
}

char* TransactionServant::txn_get(CORBA::ULongLong txn, const char* t, const char* key,
                                  CORBA::Boolean& found) {
  return guarded([&] {
    auto v = local_.transactions.with(txn, owner(), [&](db::Transaction& x) { return x.get(table(t), key); });
    found = v.has_value();
    return dup(v.value_or(""));
  });
}

void TransactionServant::attr_set(CORBA::ULongLong txn, const char* oid, const char* name,
                                  const CORBA::Any& value) {
  guarded([&] {
    const std::string key = attribute_key(oid, name);
    const std::string bytes = records::encode_any(value);
    local_.transactions.with(
        txn, owner(), [&](db::Transaction& x) { x.put(db::Table::kAttributes, key, bytes); });
  });
}

CORBA::Any* TransactionServant::attr_get(CORBA::ULongLong txn, const char* oid, const char* name,
                                         CORBA::Boolean& found) {
  return guarded([&] {
    const std::string key = attribute_key(oid, name);
    auto bytes = local_.transactions.with(
        txn, owner(), [&](db::Transaction& x) { return x.get(db::Table::kAttributes, key); });
    auto value = std::make_unique<CORBA::Any>();
    found = bytes.has_value();
    if (bytes) {
      try {
        records::decode_any(*bytes, *value);
      } catch (const Failure& e) {
        fail(fmt::format("attribute {} is corrupt: {}; check the database with wchkdb", key,
                         e.what()));
      }
    }
    return value.release();
  });
}

void TransactionServant::txn_commit(CORBA::ULongLong txn) {
  guarded([&] { local_.transactions.commit(txn, owner()); });
}

void TransactionServant::txn_abort(CORBA::ULongLong txn) {
  guarded([&] { local_.transactions.abort(txn, owner()); });
}

namespace {

OServ::TxnEntries* transactions(db::Database& db, TransactionSessions& sessions) {
  const auto open = db.transactions();
  auto out = std::make_unique<OServ::TxnEntries>();
  out->length(static_cast<CORBA::ULong>(open.size()));
  for (CORBA::ULong i = 0; i < open.size(); ++i) {
    auto& e = (*out)[i];
    e.id = db.describe(open[i].id).c_str();
    e.kind = open[i].parent ? "Sub-T" : "Top-T";
    e.parent = open[i].parent ? db.describe(open[i].parent).c_str() : "";
    e.label = open[i].label.c_str();
    e.started = db::format_time(open[i].started).c_str();
    e.changes = static_cast<CORBA::ULong>(open[i].changes);
    e.idle_seconds = static_cast<CORBA::ULong>(
        sessions.idle(open[i].id).value_or(std::chrono::seconds(0)).count());
  }
  return out.release();
}

OServ::StringList describe_all(db::Database& db, const std::vector<std::uint64_t>& ids) {
  OServ::StringList out;
  out.length(static_cast<CORBA::ULong>(ids.size()));
  for (CORBA::ULong i = 0; i < ids.size(); ++i) out[i] = db.describe(ids[i]).c_str();
  return out;
}

OServ::LockEntries* locks(db::Database& db) {
  const auto held = db.locks();
  auto out = std::make_unique<OServ::LockEntries>();
  out->length(static_cast<CORBA::ULong>(held.size()));
  for (CORBA::ULong i = 0; i < held.size(); ++i) {
    auto& e = (*out)[i];
    e.resource = held[i].resource.c_str();
    e.mode = held[i].mode == db::LockMode::kWrite ? "write" : "read";
    e.holders = describe_all(db, held[i].holders);
    e.waiters = describe_all(db, held[i].waiters);
  }
  return out.release();
}

}  // namespace

void TransactionServant::tmstat(OServ::TxnEntries_out txns, OServ::LockEntries_out held,
                                CORBA::ULongLong& journal_bytes,
                                CORBA::ULongLong& journal_file_bytes) {
  guarded([&] {
    auto& db = local_.db;
    txns = transactions(db, local_.transactions);
    held = locks(db);
    journal_bytes = db.journal_size();
    journal_file_bytes = db.journal_file_size();
  });
}

}  // namespace openoserv
