// The offline check of an object database (wchkdb).
#pragma once

#include <string>
#include <vector>

#include "Database.h"

namespace openoserv {

// Every odlist and class record decodes; every attribute ("<region>.<od>.<n>/<name>") and every
// name ("<resource>/<label>" -> OID) of an object of this dispatcher refers to an existing
// object. One sentence per problem.
std::vector<std::string> check_database(db::Database& db);

}  // namespace openoserv
