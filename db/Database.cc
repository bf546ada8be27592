// LMDB-backed object database: environment, ownership lock, meta and odlist records.
#include "Database.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/core.h>

namespace openoserv::db {

namespace {

void check(int rc, const std::string& dir, const char* what) {
  if (rc != MDB_SUCCESS)
    throw DbError(fmt::format("database {}: {} failed: {}", dir, what, mdb_strerror(rc)));
}

MDB_val as_val(const std::string& s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}

std::string od_key(std::uint32_t od) {
  // Big-endian so LMDB's byte order is numeric order.
  std::string k(4, '\0');
  for (int i = 0; i < 4; ++i) k[i] = static_cast<char>((od >> (24 - 8 * i)) & 0xFF);
  return k;
}

std::uint32_t od_from_key(const MDB_val& v) {
  std::uint32_t od = 0;
  const auto* p = static_cast<const unsigned char*>(v.mv_data);
  for (size_t i = 0; i < 4 && i < v.mv_size; ++i) od = (od << 8) | p[i];
  return od;
}

bool parse_u32(std::string_view s, std::uint32_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

}  // namespace

// RAII LMDB transaction: aborted unless committed.
class Database::Txn {
 public:
  Txn(Database& db, bool write) : db_(db) {
    check(mdb_txn_begin(db.env_, nullptr, write ? 0 : MDB_RDONLY, &txn_), db.dir_, "begin");
  }
  ~Txn() {
    if (txn_) mdb_txn_abort(txn_);
  }
  void commit() {
    int rc = mdb_txn_commit(txn_);
    txn_ = nullptr;
    check(rc, db_.dir_, "commit");
  }
  std::optional<std::string> get(MDB_dbi dbi, const std::string& key) {
    MDB_val k = as_val(key), v;
    int rc = mdb_get(txn_, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, db_.dir_, "get");
    return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
  }
  void put(MDB_dbi dbi, const std::string& key, const std::string& value) {
    MDB_val k = as_val(key), v = as_val(value);
    check(mdb_put(txn_, dbi, &k, &v, 0), db_.dir_, "put");
  }
  MDB_txn* get() { return txn_; }

 private:
  Database& db_;
  MDB_txn* txn_ = nullptr;
};

std::string OdRecord::encode() const {
  std::string hosts;
  for (const auto& h : hostnames) hosts += (hosts.empty() ? "" : ",") + h;
  return fmt::format("port={}\nip={}\nhosts={}\nforce_bind={}\n", port, ip, hosts,
                     force_bind ? 1 : 0);
}

OdRecord OdRecord::decode(std::uint32_t od, const std::string& text) {
  OdRecord r;
  r.od = od;
  bool have_port = false, have_ip = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string_view line(text.data() + pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      throw DbError(fmt::format("odlist record of dispatcher {} is corrupt: '{}'", od, line));
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    std::uint32_t n = 0;
    if (key == "port") {
      if (!parse_u32(value, n) || n == 0 || n > 65535)
        throw DbError(fmt::format("odlist record of dispatcher {}: bad port '{}'", od, value));
      r.port = static_cast<std::uint16_t>(n);
      have_port = true;
    } else if (key == "ip") {
      r.ip = value;
      have_ip = true;
    } else if (key == "hosts") {
      size_t s = 0;
      while (s < value.size()) {
        size_t c = value.find(',', s);
        if (c == std::string_view::npos) c = value.size();
        if (c > s) r.hostnames.emplace_back(value.substr(s, c - s));
        s = c + 1;
      }
    } else if (key == "force_bind") {
      r.force_bind = value == "1";
    }
    // Unknown keys are kept forward-compatible: a newer oserv may add fields.
  }
  if (!have_port || !have_ip)
    throw DbError(fmt::format("odlist record of dispatcher {} is incomplete (port/ip missing)", od));
  return r;
}

std::unique_ptr<Database> Database::open(const std::string& dir, const Options& options) {
  std::unique_ptr<Database> db(new Database);
  db->dir_ = dir;
  std::error_code ec;
  if (options.create) {
    std::filesystem::create_directories(dir, ec);
    if (ec) throw DbError(fmt::format("cannot create database directory {}: {}", dir, ec.message()));
  } else if (!std::filesystem::is_directory(dir, ec)) {
    throw DbError(fmt::format(
        "database directory {} does not exist; create the instance with oinstall", dir));
  } else if (!std::filesystem::exists(dir + "/data.mdb", ec)) {
    throw DbError(fmt::format(
        "{} holds no openoserv database (no data.mdb); create the instance with oinstall", dir));
  }

  // Ownership first: nothing below may touch a database another oserv has open.
  const std::string owner = dir + "/oserv.owner";
  db->owner_fd_ = ::open(owner.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (db->owner_fd_ < 0)
    throw DbError(fmt::format("cannot open {}: {}", owner, std::strerror(errno)));
  if (::flock(db->owner_fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[512] = {};
    ssize_t n = ::pread(db->owner_fd_, buf, sizeof buf - 1, 0);
    std::string who = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "unknown owner";
    while (!who.empty() && (who.back() == '\n' || who.back() == ' ')) who.pop_back();
    throw DbInUse(fmt::format("database {} is in use by another oserv ({})", dir, who));
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  const std::string who =
      fmt::format("instance {}, pid {}, host {}\n", options.owner_id, ::getpid(), host);
  if (::ftruncate(db->owner_fd_, 0) != 0 ||
      ::pwrite(db->owner_fd_, who.data(), who.size(), 0) != static_cast<ssize_t>(who.size()))
    throw DbError(fmt::format("cannot write {}: {}", owner, std::strerror(errno)));

  check(mdb_env_create(&db->env_), dir, "mdb_env_create");
  check(mdb_env_set_maxdbs(db->env_, 16), dir, "mdb_env_set_maxdbs");
  check(mdb_env_set_mapsize(db->env_, options.map_size), dir, "mdb_env_set_mapsize");
  unsigned flags = MDB_NOTLS | (options.sync ? 0 : MDB_NOSYNC);
  check(mdb_env_open(db->env_, dir.c_str(), flags, 0644), dir, "mdb_env_open");
  {
    Txn txn(*db, true);
    check(mdb_dbi_open(txn.get(), "meta", MDB_CREATE, &db->meta_), dir, "open meta");
    check(mdb_dbi_open(txn.get(), "odlist", MDB_CREATE, &db->odlist_), dir, "open odlist");
    txn.commit();
  }
  if (!options.create && !db->initialised())
    throw DbError(fmt::format("database {} has no region number: it was never initialised by "
                              "oinstall or its creation was interrupted",
                              dir));
  return db;
}

Database::~Database() {
  if (env_) mdb_env_close(env_);
  if (owner_fd_ >= 0) ::close(owner_fd_);  // releases the ownership lock
}

bool Database::initialised() { return get_meta(kMetaRegion).has_value(); }

std::optional<std::string> Database::get_meta(const std::string& key) {
  Txn txn(*this, false);
  return txn.get(meta_, key);
}

void Database::put_meta(const std::string& key, const std::string& value) {
  Txn txn(*this, true);
  txn.put(meta_, key, value);
  txn.commit();
}

std::uint32_t Database::meta_u32(const char* key) {
  auto v = get_meta(key);
  std::uint32_t n = 0;
  if (!v || !parse_u32(*v, n))
    throw DbError(fmt::format("database {}: meta '{}' is missing or not a number", dir_, key));
  return n;
}

std::uint32_t Database::region() { return meta_u32(kMetaRegion); }
std::uint32_t Database::dispatcher() { return meta_u32(kMetaDispatcher); }

std::vector<OdRecord> Database::odlist() {
  Txn txn(*this, false);
  MDB_cursor* cur = nullptr;
  check(mdb_cursor_open(txn.get(), odlist_, &cur), dir_, "cursor");
  std::vector<OdRecord> out;
  MDB_val k, v;
  int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
  while (rc == MDB_SUCCESS) {
    out.push_back(OdRecord::decode(od_from_key(k),
                                   std::string(static_cast<const char*>(v.mv_data), v.mv_size)));
    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) check(rc, dir_, "cursor_get");
  return out;
}

std::optional<OdRecord> Database::od(std::uint32_t od) {
  Txn txn(*this, false);
  auto v = txn.get(odlist_, od_key(od));
  if (!v) return std::nullopt;
  return OdRecord::decode(od, *v);
}

void Database::put_od(const OdRecord& record) {
  Txn txn(*this, true);
  txn.put(odlist_, od_key(record.od), record.encode());
  txn.commit();
}

void Database::sync() { check(mdb_env_sync(env_, 1), dir_, "mdb_env_sync"); }

}  // namespace openoserv::db
