// The oserv's object database: an LMDB environment in DBDIR with named sub-databases.
//
//   meta    key -> value   region number, dispatcher number, instance ID, settings
//   odlist  od (u32 BE) -> OdRecord text   the dispatchers of the region
//
// One oserv at a time owns a DBDIR: open() takes an exclusive lock on DBDIR/oserv.owner and
// records who holds it, so a second opener is refused with the owner's host, pid and ID.
// Every public call is thread-safe (LMDB serialises writers; readers use MDB_NOTLS).
#pragma once

#include <lmdb.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace openoserv::db {

class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The directory is owned by another running oserv (what() names it).
class DbInUse : public DbError {
 public:
  using DbError::DbError;
};

// One dispatcher of the region, as the odlist stores it.
struct OdRecord {
  std::uint32_t od = 0;
  std::uint16_t port = 0;
  std::string ip;
  std::vector<std::string> hostnames;  // logical host first, then aliases
  bool force_bind = false;

  std::string encode() const;
  // Throws DbError naming the od when the stored text is not a record.
  static OdRecord decode(std::uint32_t od, const std::string& text);
};

// Well-known meta keys.
inline constexpr const char* kMetaRegion = "region";
inline constexpr const char* kMetaDispatcher = "dispatcher";
inline constexpr const char* kMetaInstanceId = "instance_id";
inline constexpr const char* kMetaCreated = "created";

class Database {
 public:
  struct Options {
    bool create = false;  // initialise an empty directory instead of requiring a database
    bool sync = true;     // durable commits (fsync); false only for tests and benchmarks
    std::size_t map_size = std::size_t{1} << 30;
    std::string owner_id;  // instance ID recorded in the owner file
  };

  // Opens (or with create, initialises) the database in `dir`. Throws DbError naming the
  // directory: not a database, in use by another oserv (naming it), or LMDB errors.
  static std::unique_ptr<Database> open(const std::string& dir, const Options& options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const std::string& dir() const { return dir_; }
  bool initialised();  // holds a region number

  std::optional<std::string> get_meta(const std::string& key);
  void put_meta(const std::string& key, const std::string& value);
  std::uint32_t region();
  std::uint32_t dispatcher();

  std::vector<OdRecord> odlist();
  std::optional<OdRecord> od(std::uint32_t od);
  void put_od(const OdRecord& record);

  // Forces everything committed onto disk (also in nosync mode).
  void sync();

 private:
  class Txn;
  Database() = default;
  std::uint32_t meta_u32(const char* key);

  std::string dir_;
  MDB_env* env_ = nullptr;
  MDB_dbi meta_ = 0;
  MDB_dbi odlist_ = 0;
  int owner_fd_ = -1;
};

}  // namespace openoserv::db
