// Crash test: a writer process runs random transactions (with sub-transactions, aborts and
// commits) and is killed with SIGKILL at a random moment, hundreds of times. After each kill the
// database is reopened (recovering from odb.log) and must hold exactly the committed state:
// every committed transaction present, nothing of an uncommitted one, the one transaction
// caught mid-commit all-or-nothing, and odb.log 0 bytes.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <sstream>

#include <fmt/core.h>

#include "Database.h"

namespace openoserv::db {
namespace {

constexpr int kKeys = 40;
constexpr int kRounds = 300;

std::unique_ptr<Database> open_db(const std::string& dir, bool create = false) {
  return Database::open(dir, {.create = create, .sync = false, .owner_id = "crash"});
}

void say(int fd, const std::string& line) {
  std::string l = line + "\n";
  if (::write(fd, l.data(), l.size()) != static_cast<ssize_t>(l.size())) ::_exit(3);
}

// The writer: "I <id> k=v ..." before committing, "C <id>" once commit() returned.
[[noreturn]] void writer(const std::string& dir, int fd, unsigned seed) {
  auto db = open_db(dir);
  std::mt19937 rng(seed);
  for (std::uint64_t n = 0;; ++n) {
    auto top = db->begin();
    std::map<std::string, std::string> writes;
    const std::string tag = std::to_string(seed) + "." + std::to_string(n);
    for (int i = 0, count = 1 + rng() % 4; i < count; ++i) {
      std::string key = fmt::format("k{}", rng() % kKeys);
      std::string value = tag + "." + std::to_string(i);
      top->put(Table::kObjects, key, value);
      writes[key] = value;
    }
    if (rng() % 2) {  // a sub-transaction, committed or aborted
      auto sub = db->begin(top.get());
      std::string key = fmt::format("k{}", rng() % kKeys), value = tag + ".sub";
      sub->put(Table::kObjects, key, value);
      if (rng() % 2) {
        sub->commit();
        writes[key] = value;
      } else {
        sub->abort();
      }
    }
    if (rng() % 4 == 0) {
      top->abort();
      continue;
    }
    std::ostringstream intent;
    intent << "I " << tag;
    for (const auto& [k, v] : writes) intent << " " << k << "=" << v;
    say(fd, intent.str());
    top->commit();
    say(fd, "C " + tag);
  }
}

TEST(CrashTest, SigkillAtRandomMomentsNeverLosesOrLeaksTransactions) {
  const std::string dir = std::filesystem::temp_directory_path() /
                          fmt::format("openoserv-crash-{}", ::getpid());
  std::filesystem::remove_all(dir);
  {
    auto db = open_db(dir, true);
    db->put_meta(kMetaRegion, "1234567890");
    db->put_meta(kMetaDispatcher, "1");
  }
  std::map<std::string, std::string> committed;  // key -> value
  std::mt19937 rng(2026);
  int rollbacks_seen = 0;
  for (int round = 0; round < kRounds; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t child = ::fork();
    if (child == 0) {
      ::close(fds[0]);
      writer(dir, fds[1], static_cast<unsigned>(round));
    }
    ::close(fds[1]);
    // Once the writer is transacting (its first line is out: a loaded machine may take longer
    // to start it than the kill's random delay), at a random moment.
    std::string out;
    char buf[65536];
    while (out.find('\n') == std::string::npos) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;
      out.append(buf, n);
    }
    ::usleep(rng() % 20000);
    ::kill(child, SIGKILL);
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, n);
    ::close(fds[0]);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited by itself in round " << round;

    // Replay the ledger; the last intent without a commit line is in doubt.
    std::map<std::string, std::string> in_doubt;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || !lines.good()) break;  // a partial last line is no statement
      std::istringstream words(line);
      std::string kind, tag;
      words >> kind >> tag;
      if (kind == "I") {
        in_doubt.clear();
        for (std::string kv; words >> kv;) {
          auto eq = kv.find('=');
          in_doubt[kv.substr(0, eq)] = kv.substr(eq + 1);
        }
      } else if (kind == "C") {
        for (const auto& [k, v] : in_doubt) committed[k] = v;
        in_doubt.clear();
      }
    }

    auto db = open_db(dir);
    if (!db->recovery().rolled_back.empty()) ++rollbacks_seen;
    ASSERT_EQ(std::filesystem::file_size(dir + "/odb.log"), 0u) << "round " << round;
    // The transaction in doubt is all-or-nothing.
    bool doubt_applied = false;
    if (!in_doubt.empty()) {
      const auto& [k0, v0] = *in_doubt.begin();
      doubt_applied = db->read(Table::kObjects, k0) == v0;
      for (const auto& [k, v] : in_doubt) {
        auto actual = db->read(Table::kObjects, k);
        if (doubt_applied) {
          ASSERT_EQ(actual, v) << "round " << round << ": half of a transaction survived";
        } else {
          ASSERT_EQ(actual, committed.count(k) ? std::optional(committed[k]) : std::nullopt)
              << "round " << round << ": half of a transaction survived";
        }
      }
      if (doubt_applied)
        for (const auto& [k, v] : in_doubt) committed[k] = v;
    }
    for (int i = 0; i < kKeys; ++i) {
      std::string k = fmt::format("k{}", i);
      auto expected = committed.count(k) ? std::optional(committed[k]) : std::nullopt;
      ASSERT_EQ(db->read(Table::kObjects, k), expected) << "round " << round << " key " << k;
    }
  }
  // The test only means something if kills did land inside open transactions.
  EXPECT_GT(rollbacks_seen, kRounds / 10);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace openoserv::db
