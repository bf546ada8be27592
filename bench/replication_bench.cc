// replication_bench: commits through an oserv whose standby is synchronous, against commits
// through an oserv without a standby (the local synced commit), both durable, both reached the
// same way (the Transactions interface on the instance's Unix socket), in alternating rounds.
// With --beside, a second baseline: the local synced commit while another oserv without a
// standby commits as hard on the same disk, which is what a standby on the same machine costs
// the disk whatever the software does (both sides' syncs queue at one device).
// Also: the standby's lag under load (asynchronous mode), sampled from the primary's
// replication status, and a plain load for the catch-up measure of scripts/bench.sh.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <iostream>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/program_options.hpp>
#include <fmt/core.h>

#include "OrbInit.h"
#include "Rounds.h"
#include "oserv.hh"

namespace po = boost::program_options;
using Clock = std::chrono::steady_clock;
using openoserv::bench::median;
using openoserv::bench::ratio_summary;
using openoserv::bench::take_turns;

namespace {

OServ::Dispatcher_ptr dispatcher_at(CORBA::ORB_ptr orb, const std::string& socket) {
  CORBA::Object_var obj =
      orb->string_to_object(fmt::format("corbaloc:omniunix:{}:/Dispatcher", socket).c_str());
  return OServ::Dispatcher::_unchecked_narrow(obj);
}

// One framework transaction writing one 100-byte record.
void commit_one(OServ::Dispatcher_ptr d, int client, std::uint64_t n) {
  const CORBA::ULongLong t = d->txn_begin(0, "replication_bench");
  d->txn_put(t, "objects", fmt::format("bench.{}.{}", client, n % 1000).c_str(),
             fmt::format("{:0>100}", n).c_str());
  d->txn_commit(t);
}

// `commits` transactions by `clients` threads at once; the mean time of one commit, in µs.
double run(CORBA::ORB_ptr orb, const std::string& socket, int clients, int commits) {
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      OServ::Dispatcher_var d = dispatcher_at(orb, socket);
      for (int i = c; i < commits; i += clients) commit_one(d, c, static_cast<std::uint64_t>(i));
    });
  for (auto& t : threads) t.join();
  const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
  return us * clients / commits;
}

// The mean commit time at `local` while `beside` takes the same load at once.
double run_beside(CORBA::ORB_ptr orb, const std::string& local, const std::string& beside,
                  int clients, int commits) {
  std::thread other([&] { run(orb, beside, clients, commits); });
  const double us = run(orb, local, clients, commits);
  other.join();
  return us;
}

void print_row(const char* what, int clients, double a, double b,
               const std::vector<double>& ratios) {
  fmt::print("{:>2} client(s) {:<8} {:>8.0f} µs {:>8.0f}/s  {:>10.0f} µs {:>8.0f}/s {}\n", clients,
             what, a, clients * 1e6 / a, b, clients * 1e6 / b, ratio_summary(ratios));
}

void compare(CORBA::ORB_ptr orb, const std::string& local, const std::string& replicated,
             const std::string& beside, int clients, int rounds, int commits) {
  std::vector<double> local_us, replicated_us, beside_us, ratios, beside_ratios;
  for (int r = 0; r < rounds; ++r) {
    double a = 0, b = 0;
    take_turns(r, [&] { a = run(orb, local, clients, commits); },
               [&] { b = run(orb, replicated, clients, commits); });
    local_us.push_back(a);
    replicated_us.push_back(b);
    ratios.push_back(b / a);
    if (beside.empty()) continue;
    beside_us.push_back(run_beside(orb, local, beside, clients, commits));
    beside_ratios.push_back(beside_us.back() / a);
  }
  print_row("", clients, median(local_us), median(replicated_us), ratios);
  if (!beside.empty())
    print_row("(disk)", clients, median(local_us), median(beside_us), beside_ratios);
}

// The lag the primary reports while `clients` threads commit for `seconds`.
void lag(CORBA::ORB_ptr orb, const std::string& primary, int clients, int seconds) {
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> done{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      OServ::Dispatcher_var d = dispatcher_at(orb, primary);
      for (std::uint64_t i = 0; !stop; ++i, ++done) commit_one(d, c, i);
    });
  OServ::Dispatcher_var d = dispatcher_at(orb, primary);
  const std::regex figures(R"(behind (\d+) transactions, (\d+) bytes, ([0-9.]+) s)");
  std::vector<double> txns, bytes, secs;
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  while (Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    OServ::StringList_var lines = d->replication_status();
    for (CORBA::ULong i = 0; i < lines->length(); ++i) {
      std::smatch m;
      const std::string line = lines[i].in();
      if (!std::regex_search(line, m, figures)) continue;
      txns.push_back(std::stod(m[1]));
      bytes.push_back(std::stod(m[2]));
      secs.push_back(std::stod(m[3]));
    }
  }
  stop = true;
  for (auto& t : threads) t.join();
  if (txns.empty()) throw std::runtime_error("the primary reported no standby");
  fmt::print("standby lag under {} committing client(s), {} samples, asynchronous mode: "
             "{:.0f} commits/s; median {:.0f} transactions, {:.0f} bytes, {:.2f} s; max {:.0f} "
             "transactions, {:.2f} s\n",
             clients, txns.size(), static_cast<double>(done) / seconds, median(txns),
             median(bytes), median(secs), *std::max_element(txns.begin(), txns.end()),
             *std::max_element(secs.begin(), secs.end()));
}

}  // namespace

int main(int argc, char** argv) {
  std::string local, replicated, beside;
  int rounds = 9, commits = 400, clients = 8, seconds = 5, load = 0;
  po::options_description opts(
      "replication_bench: synchronous replicated commits against local synced commits\n"
      "(scripts/bench.sh replication sets up the instances; docs/PERFORMANCE.md)");
  opts.add_options()("help,h", "this text")(
      "local", po::value(&local), "Unix socket of an oserv without a standby")(
      "replicated", po::value(&replicated), "Unix socket of an oserv with a standby")(
      "beside", po::value(&beside),
      "Unix socket of another oserv without a standby, on the same disk: adds the row "
      "'(disk)', the local commit while it commits as hard")(
      "rounds", po::value(&rounds)->default_value(rounds), "alternating rounds")(
      "commits", po::value(&commits)->default_value(commits), "commits per round")(
      "clients", po::value(&clients)->default_value(clients), "concurrent clients for --lag")(
      "lag", po::value(&seconds), "measure the standby's lag for this many seconds instead")(
      "load", po::value(&load), "just make this many commits at --replicated");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, opts), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "replication_bench: " << e.what() << "\n" << opts;
    return 2;
  }
  if (vm.count("help") || replicated.empty() || (local.empty() && !vm.count("lag") && !load)) {
    std::cout << opts;
    return vm.count("help") ? 0 : 2;
  }
  CORBA::ORB_var orb = openoserv::init_orb("replication_bench", {{"traceLevel", "0"}});
  try {
    if (load > 0) {
      run(orb, replicated, 4, load);
    } else if (vm.count("lag")) {
      lag(orb, replicated, clients, seconds);
    } else {
      fmt::print("median of {} rounds of {} commits (1 record of 100 bytes each):\n", rounds,
                 commits);
      fmt::print("{:>21}  {:>24}  {:>24} {}\n", "", "local synced commit",
                 "sync replicated commit", "ratio");
      if (!beside.empty())
        fmt::print("{:>21}  {:>24}  {:>24}\n", "(disk):", "",
                   "local, another oserv beside");
      for (int c : {1, 8}) compare(orb, local, replicated, beside, c, rounds, commits);
    }
  } catch (const CORBA::Exception& e) {
    std::cerr << "replication_bench: " << e._name() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "replication_bench: " << e.what() << "\n";
    return 1;
  }
  orb->destroy();
  return 0;
}
