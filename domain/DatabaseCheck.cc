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

void check_records(db::Database& db, std::vector<std::string>& problems) {
  for (const auto& [key, value] : db.scan(db::Table::kOdlist)) {
    std::uint32_t od = 0;
    for (unsigned char c : key) od = od << 8 | c;
    try {
      records::decode_od(od, value);
    } catch (const Failure& e) {
      problems.push_back(e.what());
    }
  }
  for (const auto& [key, value] : db.scan(db::Table::kClasses)) {
    try {
      records::decode_class(key, value);
    } catch (const Failure& e) {
      problems.push_back(e.what());
    }
  }
  for (const auto& [key, value] : db.scan(db::Table::kAdministrators)) {
    try {
      Administrators::validate(records::decode_administrator(key, value));
    } catch (const Failure& e) {
      problems.push_back(e.what());
    }
  }
  for (const auto& [key, value] : db.scan(db::Table::kGateways)) {
    try {
      records::decode_gateway(key, value);
    } catch (const Failure& e) {
      problems.push_back(e.what());
    }
  }
  for (const auto& [key, value] : db.scan(db::Table::kEndpoints)) {
    try {
      // An endpoint record without its object is a dangling reference too.
      if (!db.read(db::Table::kObjects, key))
        problems.push_back(fmt::format("endpoint record {} has no object", key));
      records::decode_endpoint(key, value);
    } catch (const Failure& e) {
      problems.push_back(e.what());
    }
  }
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
