// db_sync and online backup.
#include "Maintenance.h"

#include <fmt/core.h>

#include "Failure.h"

namespace openoserv {

std::string sync_database(LocalDispatcher& local) {
  auto& db = local.db;
  const bool emptied = db.sync();
  const std::string journal =
      emptied ? "odb.log is empty"
              : fmt::format("odb.log kept ({} bytes): {} transaction(s) open", db.journal_size(),
                            db.transactions().size());
  local.log.line(fmt::format("db_sync: database synced; {}", journal));
  return fmt::format("Database {} synced; {}.", local.info.instance.dbdir, journal);
}

std::string backup_database(LocalDispatcher& local, const std::string& target_dir) {
  if (target_dir.empty() || target_dir[0] != '/')
    fail(fmt::format("backup directory '{}' must be an absolute path", target_dir));
  const std::size_t left_out = local.db.backup(target_dir);
  const std::string msg =
      fmt::format("Database {} backed up to {}{}.", local.info.instance.dbdir, target_dir,
                  left_out == 0 ? std::string()
                                : fmt::format(" ({} open transaction(s) left out)", left_out));
  local.log.line("wbkupdb: " + msg);
  return msg;
}

}  // namespace openoserv
