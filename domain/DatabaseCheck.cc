// Offline database check.
#include "DatabaseCheck.h"

#include <fmt/core.h>

#include "Administrators.h"
#include "Failure.h"
#include "Odlist.h"
#include "Oid.h"
#include "Records.h"

namespace openoserv {

namespace {

// Every record of `table` through `check(key, value)`; a Failure it throws is a problem.
template <typename Check>
void check_table(db::Database& db, db::Table table, std::vector<std::string>& problems,
                 Check&& check) {
  for (const auto& [key, value] : db.scan(table)) {
    try {
      check(key, value);
    } catch (const Failure& e) {
      problems.push_back(e.what());
    }
  }
}

void check_records(db::Database& db, std::vector<std::string>& problems) {
  check_table(db, db::Table::kOdlist, problems, [](const std::string& key, const std::string& v) {
    std::uint32_t od = 0;
    for (unsigned char c : key) od = od << 8 | c;
    records::decode_od(od, v);
  });
  check_table(db, db::Table::kClasses, problems,
              [](const std::string& key, const std::string& v) { records::decode_class(key, v); });
  check_table(db, db::Table::kAdministrators, problems,
              [](const std::string& key, const std::string& v) {
                Administrators::validate(records::decode_administrator(key, v));
              });
  check_table(db, db::Table::kGateways, problems,
              [](const std::string& key, const std::string& v) { records::decode_gateway(key, v); });
  check_table(db, db::Table::kEndpoints, problems,
              [&](const std::string& key, const std::string& v) {
                records::decode_endpoint(key, v);
                // An endpoint record without its object is a dangling reference too.
                if (!db.read(db::Table::kObjects, key))
                  problems.push_back(fmt::format("endpoint record {} has no object", key));
              });
}

}  // namespace

std::vector<std::string> check_database(db::Database& db) {
  std::vector<std::string> problems;
  check_records(db, problems);
  auto exists = [&](const std::string& key) {
    return db.read(db::Table::kObjects, key).has_value();
  };
  for (const auto& [key, value] : db.scan(db::Table::kAttributes)) {
    const std::string object = key.substr(0, key.find('/'));
    if (!exists(object))
      problems.push_back(
          fmt::format("attribute {} belongs to object {}, which does not exist", key, object));
  }
  const std::uint32_t own_od = db.dispatcher();
  for (const auto& [key, value] : db.scan(db::Table::kNames)) {
    Oid oid;
    if (!Oid::try_parse(value, oid)) {
      problems.push_back(fmt::format("name {} refers to '{}', which is not an object id", key,
                                     value));
    } else if (oid.od == own_od && !exists(oid.key())) {  // others live elsewhere
      problems.push_back(
          fmt::format("name {} refers to object {}, which does not exist", key, value));
    }
  }
  return problems;
}

}  // namespace openoserv
