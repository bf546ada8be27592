// Database maintenance asked for by an administrator: odadmin db_sync, wbkupdb.
#pragma once

#include <string>

#include "LocalDispatcher.h"

namespace openoserv {

// Makes the database durable and empties odb.log when no transaction is open. Returns the
// operator message (and logs it).
std::string sync_database(LocalDispatcher& local);

// An online backup of the committed state into `target_dir` (absolute, empty or absent) on this
// host. Returns the operator message (and logs it). Throws Failure naming the directory.
std::string backup_database(LocalDispatcher& local, const std::string& target_dir);

}  // namespace openoserv
