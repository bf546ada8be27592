// The deep health check (odadmin health, the OCF agent's deep monitor): one sentence per
// problem, none when healthy.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "Database.h"
#include "MethodThreads.h"

namespace openoserv {

// Problems: odb.log holding records while no transaction has been open for long (the journal is
// not being emptied), a method thread older than `max_method_age`.
std::vector<std::string> health_problems(db::Database& db, MethodThreads& threads,
                                         std::chrono::seconds max_method_age);

}  // namespace openoserv
