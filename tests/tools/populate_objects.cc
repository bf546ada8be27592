// populate_objects DBDIR COUNT [NAMED]: adds COUNT objects of class Filler to a stopped
// instance's database (for failover tests that need a realistic database size), in large
// transactions; the first NAMED of them are also named (resource Filler, labels filler<N>).
#include <cstdlib>
#include <iostream>

#include <fmt/core.h>

#include "Database.h"

using namespace openoserv::db;

int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) {
    std::cerr << "usage: populate_objects DBDIR COUNT [NAMED]\n";
    return 2;
  }
  const long count = std::atol(argv[2]);
  const long named = argc == 4 ? std::atol(argv[3]) : 0;
  try {
    auto db = Database::open(argv[1], {.owner_id = "populate_objects"});
    db->set_sync(false);
    const auto region = db->region();
    const auto od = db->dispatcher();
    for (long n = 0; n < count;) {
      auto txn = db->begin(nullptr, "populate");
      for (int i = 0; i < 10000 && n < count; ++i, ++n) {
        txn->put(Table::kObjects, fmt::format("{}.{}.{}", region, od, 1000000 + n), "Filler");
        if (n < named)
          txn->put(Table::kNames, fmt::format("Filler/filler{}", 1000000 + n),
                   fmt::format("{}.{}.{}#Filler#", region, od, 1000000 + n));
      }
      txn->commit();
    }
    db->sync();
  } catch (const std::exception& e) {
    std::cerr << "populate_objects: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
