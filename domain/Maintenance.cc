// db_sync and online backup.
#include "Maintenance.h"

#include <filesystem>

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
  // The dispatcher's certificate and keys (and the CA's at the TMR server) go with it: a backup
  // restored as DBDIR starts as this dispatcher. Same modes: 0700 directory, 0600 files.
  const std::string ssl = local.info.instance.dbdir + "/ssl";
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(ssl, ec)) {
    fs::copy(ssl, target_dir + "/ssl", fs::copy_options::recursive, ec);
    if (!ec) fs::permissions(target_dir + "/ssl", fs::perms::owner_all, ec);
    if (ec)
      fail(fmt::format("database backed up to {}, but {} could not be copied: {}", target_dir,
                       ssl, ec.message()));
  }
  const std::string msg =
      fmt::format("Database {} backed up to {}{}{}.", local.info.instance.dbdir, target_dir,
                  fs::is_directory(ssl, ec) ? " with its certificates (ssl/)" : "",
                  left_out == 0 ? std::string()
                                : fmt::format(" ({} open transaction(s) left out)", left_out));
  local.log.line("wbkupdb: " + msg);
  return msg;
}

}  // namespace openoserv
