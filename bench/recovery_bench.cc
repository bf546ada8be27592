// recovery_bench: how long an open() takes to recover a large database from a large journal.
// Builds a database of --records records of --value-size bytes (default about 1 GB), then, in a
// child process, rewrites records in one transaction until odb.log holds --journal-mb of
// before-images, and dies without cleanup (as kill -9 would leave it). The parent then times
// Database::open, which rolls that transaction back. The baseline printed beside it is a raw
// LMDB transaction writing the same number of records, measured in the same run.
#include <lmdb.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "Database.h"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;
using openoserv::db::Database;
using openoserv::db::Table;

namespace {

std::string key_for(std::uint64_t n) { return fmt::format("1234567890.1.{:08}", n); }

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

Database::Options options(bool create) {
  return {.create = create, .sync = true, .map_size = std::size_t{8} << 30, .owner_id = "bench"};
}

struct Config {
  std::string dir = "/tmp/openoserv-recovery-bench";
  std::uint64_t records = 500000, value_size = 1000, journal_mb = 100;
};

Config parse(int argc, char** argv) {
  Config c;
  po::options_description opts("Usage: recovery_bench [options]\nOptions");
  opts.add_options()("help,h", "print this help")(
      "dir", po::value(&c.dir)->default_value(c.dir), "scratch directory (needs ~2.5x the data)")(
      "records", po::value(&c.records)->default_value(c.records), "records in the database")(
      "value-size", po::value(&c.value_size)->default_value(c.value_size), "bytes per record")(
      "journal-mb", po::value(&c.journal_mb)->default_value(c.journal_mb), "journal to recover");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << opts;
    std::exit(0);
  }
  return c;
}

void build_database(const Config& c) {
  auto t0 = Clock::now();
  auto db = Database::open(c.dir, options(true));
  db->set_sync(false);  // building is not what is measured
  db->put_meta("region", "1234567890");
  db->put_meta("dispatcher", "1");
  const std::string value(c.value_size, 'v');
  for (std::uint64_t n = 0; n < c.records;) {
    auto txn = db->begin();
    for (int i = 0; i < 20000 && n < c.records; ++i, ++n) txn->put(Table::kObjects, key_for(n), value);
    txn->commit();
  }
  db->sync();
  fmt::print("built {} records of {} bytes in {:.1f} s; data.mdb {:.0f} MB\n", c.records,
             c.value_size, seconds_since(t0),
             std::filesystem::file_size(c.dir + "/data.mdb") / 1e6);
}

// The crash: a child changes `changed` records in one transaction and exits without cleanup.
void crash_mid_transaction(const Config& c, std::uint64_t changed) {
  pid_t child = ::fork();
  if (child == 0) {
    auto db = Database::open(c.dir, options(false));
    auto txn = db->begin();
    const std::string changed_value(c.value_size, 'c');
    for (std::uint64_t n = 0; n < changed; ++n) txn->put(Table::kObjects, key_for(n), changed_value);
    ::_exit(0);  // no destructors: as if killed
  }
  int status = 0;
  ::waitpid(child, &status, 0);
}

// Baseline: raw LMDB writing the same records in one synced transaction.
double raw_lmdb_seconds(const Config& c, std::uint64_t changed) {
  const std::string value(c.value_size, 'v');
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, std::size_t{8} << 30);
  mdb_env_set_maxdbs(env, 16);
  mdb_env_open(env, c.dir.c_str(), MDB_NOTLS, 0644);
  MDB_txn* txn = nullptr;
  MDB_dbi dbi = 0;
  const auto t0 = Clock::now();
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, "objects", 0, &dbi);
  for (std::uint64_t n = 0; n < changed; ++n) {
    std::string k = key_for(n);
    MDB_val mk{k.size(), k.data()}, mv{value.size(), const_cast<char*>(value.data())};
    mdb_put(txn, dbi, &mk, &mv, 0);
  }
  mdb_txn_commit(txn);
  const double raw = seconds_since(t0);
  mdb_env_close(env);
  return raw;
}

}  // namespace

int main(int argc, char** argv) {
  const Config c = parse(argc, argv);
  std::filesystem::remove_all(c.dir);
  build_database(c);
  // Enough changed records to journal --journal-mb.
  const std::uint64_t changed =
      std::min<std::uint64_t>(c.records, c.journal_mb * 1000000 / (c.value_size + 64));
  crash_mid_transaction(c, changed);
  const auto journal_bytes = std::filesystem::file_size(c.dir + "/odb.log");

  auto t0 = Clock::now();
  auto db = Database::open(c.dir, options(false));
  const double recovery = seconds_since(t0);
  const auto r = db->recovery();
  db.reset();
  const double raw = raw_lmdb_seconds(c, changed);

  fmt::print("journal {:.0f} MB of records ({:.0f} MB file), {} transaction(s) rolled back, {} "
             "records restored\n",
             r.journal_bytes / 1e6, journal_bytes / 1e6, r.rolled_back.size(),
             r.records_restored);
  fmt::print("recovery (open) {:.2f} s; raw LMDB synced transaction of the same {} records {:.2f} "
             "s; ratio {:.2f}x\n",
             recovery, changed, raw, recovery / raw);
  std::filesystem::remove_all(c.dir);
  return 0;
}
