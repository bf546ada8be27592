// The deep health check (odadmin health, the OCF agent's deep monitor): one sentence per
// problem, none when healthy.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "Database.h"
#include "MethodThreads.h"
#include "TransactionSessions.h"

namespace openoserv {

// Problems: odb.log holding records while no transaction has been open for long (the journal is
// not being emptied), a method thread older than `max_method_age`, a transaction idle for more
// than 80% of its lease (its client has probably gone; it will be rolled back).
std::vector<std::string> health_problems(db::Database& db, MethodThreads& threads,
                                         TransactionSessions& transactions,
                                         std::chrono::seconds max_method_age);

}  // namespace openoserv
