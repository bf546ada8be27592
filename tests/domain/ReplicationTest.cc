// The replication stream's two ends without an ORB: a standby fetching from a primary's source
// while writers commit (run under TSan in CI), synchronous commits waiting for the standby's
// acknowledgement, a fetch past the primary's end refused, and the epoch fence.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/core.h>

#include "Failure.h"
#include "Replication.h"
#include "Replog.h"

namespace openoserv {
namespace {

class ReplicationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fmt::format("{}/replication-{}-{}", ::testing::TempDir(), ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_);
    log_.open(base_ + "/oservlog");
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  std::unique_ptr<db::Database> open(const std::string& name) {
    auto db = db::Database::open(base_ + "/" + name, {.create = true, .sync = false, .owner_id = name});
    db->put_meta(db::kMetaRegion, "1669180253");
    db->put_meta(db::kMetaDispatcher, "1");
    return db;
  }
  static void put(db::Database& db, const std::string& key) {
    auto t = db.begin();
    t->put(db::Table::kObjects, key, "v-" + key);
    t->commit();
  }
  std::string base_;
  OservLog log_;
};

TEST_F(ReplicationTest, AStandbyFollowsWhileWritersCommit) {
  auto primary = open("p");
  auto standby = open("s");
  ReplicationSource source(*primary, log_);
  source.start();
  source.add_standby("s", "127.0.0.3", 94);
  std::atomic<bool> stop{false};
  std::thread follower([&] {
    while (!stop) {
      auto batch = source.fetch("127.0.0.3:94", standby->last_seq(), std::chrono::milliseconds(20));
      standby->apply_replicated(batch.records);
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) put(*primary, fmt::format("{}-{}", w, i));
    });
  for (auto& t : writers) t.join();
  for (int i = 0; i < 500 && standby->last_seq() < primary->last_seq(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop = true;
  follower.join();
  EXPECT_EQ(standby->last_seq(), primary->last_seq());
  EXPECT_EQ(standby->scan(db::Table::kObjects), primary->scan(db::Table::kObjects));
  const auto lines = source.status();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("Replication: primary, epoch 1, async"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("in sync"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2], "  automatic promotion: off");
}

TEST_F(ReplicationTest, ASynchronousCommitReturnsOnlyOnceTheStandbyHasIt) {
  auto primary = open("p");
  auto standby = open("s");
  ReplicationSource source(*primary, log_);
  source.start();
  source.add_standby("s", "127.0.0.3", 94);
  source.set_mode("sync");
  // In sync once a fetch has returned it everything.
  standby->apply_replicated(source.fetch("127.0.0.3:94", 0, std::chrono::milliseconds(1)).records);
  std::atomic<bool> committed{false};
  std::thread writer([&] {
    put(*primary, "waits");
    committed = true;
  });
  // The commit is durable at the primary, but not acknowledged: the standby has not fetched it.
  for (int i = 0; i < 100 && primary->read(db::Table::kObjects, "waits") == std::nullopt; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(committed.load()) << "returned before the standby had it";
  auto batch = source.fetch("127.0.0.3:94", standby->last_seq(), std::chrono::milliseconds(1000));
  ASSERT_FALSE(batch.records.empty());
  standby->apply_replicated(batch.records);
  EXPECT_FALSE(committed.load()) << "fetched is not yet acknowledged";
  source.fetch("127.0.0.3:94", standby->last_seq(), std::chrono::milliseconds(1));  // the ack
  writer.join();
  EXPECT_TRUE(committed.load());
  EXPECT_EQ(standby->read(db::Table::kObjects, "waits"), "v-waits");
}

TEST_F(ReplicationTest, AStandbyAheadOfThePrimaryIsToldToCopyAgain) {
  auto primary = open("p");
  ReplicationSource source(*primary, log_);
  source.start();
  EXPECT_THROW(source.fetch("x", 0, std::chrono::milliseconds(1)), Failure) << "no standby: off";
  source.add_standby("s", "127.0.0.3", 94);
  put(*primary, "a");
  try {
    source.fetch("127.0.0.3:94", primary->last_seq() + 5, std::chrono::milliseconds(1));
    FAIL() << "a position past the primary's last was taken";
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("must be copied again"), std::string::npos) << e.what();
  }
}

TEST_F(ReplicationTest, TheFenceRefusesAnOlderEpochAndRemembersANewerOne) {
  auto node = open("n");
  {
    EpochFence fence(*node, log_);
    EXPECT_EQ(fence.known(), 0u);
    EXPECT_FALSE(fence.admit(0));
    EXPECT_FALSE(fence.admit(2));
    EXPECT_EQ(fence.known(), 2u);
    const auto why = fence.admit(1);
    ASSERT_TRUE(why);
    EXPECT_EQ(*why, "dispatcher 1 of epoch 1 is no longer the TMR server: this region is at epoch 2 "
                    "(a standby was promoted)");
    EXPECT_FALSE(fence.admit(0)) << "no epoch: not a primary's order (a client with its certificate)";
  }
  EXPECT_EQ(EpochFence(*node, log_).known(), 2u) << "kept in the database";
}

}  // namespace
}  // namespace openoserv
