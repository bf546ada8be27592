// txn_bench: committed framework transactions per second (1 write and 10 writes each), in sync
// and nosync mode, beside raw LMDB commits of the same records with the same sync mode, measured
// in the same run; and 8 concurrent writers in sync mode against the raw single-writer figure.
#include <lmdb.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "Database.h"
#include "Rounds.h"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;
using openoserv::db::Database;
using openoserv::db::Table;

namespace {

std::string value_for(std::uint64_t n) { return fmt::format("{:0>100}", n); }  // 100-byte records
std::string key_for(std::uint64_t n) { return fmt::format("1234567890.1.{}", n % 100000); }
// The same for writer `t` of several: its own keys, made with the same one format call.
std::string key_for(std::uint64_t n, int t) {
  return fmt::format("1234567890.1.{}.{}", n % 100000, t);
}

void lmdb_check(int rc, const char* what) {
  if (rc != MDB_SUCCESS) throw std::runtime_error(fmt::format("{}: {}", what, mdb_strerror(rc)));
}

// Raw LMDB: one write transaction per `writes` records, committed with the given sync mode.
class RawLmdb {
 public:
  RawLmdb(const std::string& dir, bool sync) {
    std::filesystem::create_directories(dir);
    lmdb_check(mdb_env_create(&env_), "create");
    mdb_env_set_mapsize(env_, std::size_t{1} << 30);
    mdb_env_set_maxdbs(env_, 4);
    lmdb_check(mdb_env_open(env_, dir.c_str(), MDB_NOTLS | (sync ? 0 : MDB_NOSYNC), 0644),
               "open");
    MDB_txn* txn;
    lmdb_check(mdb_txn_begin(env_, nullptr, 0, &txn), "begin");
    lmdb_check(mdb_dbi_open(txn, "objects", MDB_CREATE, &dbi_), "dbi");
    lmdb_check(mdb_txn_commit(txn), "commit");
  }
  ~RawLmdb() { mdb_env_close(env_); }
  double run(int writes, double seconds) {
    std::uint64_t done = 0;
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < end) {
      MDB_txn* txn;
      lmdb_check(mdb_txn_begin(env_, nullptr, 0, &txn), "begin");
      for (int i = 0; i < writes; ++i, ++n_) {
        std::string k = key_for(n_), v = value_for(n_);
        MDB_val mk{k.size(), k.data()}, mv{v.size(), v.data()};
        lmdb_check(mdb_put(txn, dbi_, &mk, &mv, 0), "put");
      }
      lmdb_check(mdb_txn_commit(txn), "commit");
      ++done;
    }
    return done / std::chrono::duration<double>(Clock::now() - start).count();
  }

 private:
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  std::uint64_t n_ = 0;
};

// Framework transactions from `threads` writers, each on its own keys (no lock conflicts).
double framework(Database& db, int writes, int threads, double seconds) {
  static std::atomic<std::uint64_t> round{0};
  const std::uint64_t base = round++ * 100000;
  std::atomic<std::uint64_t> done{0};
  const auto start = Clock::now();
  const auto end = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::uint64_t n = base + static_cast<std::uint64_t>(t) * 1000000;
      while (Clock::now() < end) {
        auto txn = db.begin();
        for (int i = 0; i < writes; ++i, ++n) txn->put(Table::kObjects, key_for(n, t), value_for(n));
        txn->commit();
        ++done;
      }
    });
  }
  for (auto& w : workers) w.join();
  return done / std::chrono::duration<double>(Clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/tmp/openoserv-txn-bench";
  double seconds = 3;
  std::vector<std::string> cases;
  po::options_description opts("Usage: txn_bench [options]\nOptions");
  opts.add_options()("help,h", "print this help")(
      "dir", po::value(&dir)->default_value(dir), "scratch directory (on the disk to measure)")(
      "seconds", po::value(&seconds)->default_value(3), "seconds per measurement")(
      "case", po::value(&cases)->multitoken(),
      "run only these: sync-1 sync-10 nosync-1 nosync-10 sync-1x8 (default: all)");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, opts), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::cout << opts;
    return 0;
  }
  std::filesystem::remove_all(dir);
  fmt::print("committed transactions per second, {} s each, 100-byte records, in {}\n", seconds,
             dir);
  fmt::print("{:<8}{:>8}{:>9}{:>14}{:>14}{:>9}\n", "mode", "writes", "writers", "raw LMDB/s",
             "framework/s", "ratio");
  auto wanted = [&](const std::string& c) {
    return cases.empty() || std::find(cases.begin(), cases.end(), c) != cases.end();
  };
  // Raw and framework alternate in short rounds (taking turns to go first), so drift of the
  // machine hits both alike; the rates are the median rounds, the ratio the median of the
  // rounds' ratios.
  const int rounds = 9;
  using openoserv::bench::median;
  auto open_framework = [&](const std::string& name, bool sync) {
    auto db = Database::open(dir + "/fw-" + name, {.create = true, .sync = sync, .owner_id = "bench"});
    db->put_meta("region", "1234567890");
    db->put_meta("dispatcher", "1");
    return db;
  };
  double raw_sync_single = 0;
  for (bool sync : {true, false}) {
    for (int writes : {1, 10}) {
      const std::string tag = fmt::format("{}-{}", sync ? "sync" : "nosync", writes);
      const bool need_raw = tag == "sync-1" && wanted("sync-1x8");
      if (!wanted(tag) && !need_raw) continue;
      RawLmdb raw(dir + "/raw-" + tag, sync);
      auto db = open_framework(tag, sync);
      std::vector<double> raw_rates, fw_rates, ratios;
      for (int r = 0; r < rounds; ++r) {
        auto run_raw = [&] { raw_rates.push_back(raw.run(writes, seconds / rounds)); };
        auto run_fw = [&] { fw_rates.push_back(framework(*db, writes, 1, seconds / rounds)); };
        if (!wanted(tag)) {
          run_raw();
          continue;
        }
        openoserv::bench::take_turns(r, run_raw, run_fw);
        ratios.push_back(raw_rates.back() / fw_rates.back());
      }
      const double raw_rate = median(raw_rates);
      if (sync && writes == 1) raw_sync_single = raw_rate;
      if (!wanted(tag)) continue;
      const double fw = median(fw_rates);
      fmt::print("{:<8}{:>8}{:>9}{:>14.0f}{:>14.0f}{}\n", sync ? "sync" : "nosync", writes, 1,
                 raw_rate, fw, openoserv::bench::ratio_summary(ratios));
    }
  }
  if (wanted("sync-1x8")) {
    auto db = open_framework("sync-1x8", true);
    double fw = framework(*db, 1, 8, seconds);
    fmt::print("{:<8}{:>8}{:>9}{:>14.0f}{:>14.0f}{:>8.2f}x  (raw is single-writer; target: "
               "framework > raw)\n",
               "sync", 1, 8, raw_sync_single, fw, raw_sync_single / fw);
  }
  std::filesystem::remove_all(dir);
  return 0;
}
