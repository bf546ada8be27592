// The replication stream's two ends without an ORB: a standby fetching from a primary's source
// while writers commit (run under TSan in CI), synchronous commits waiting for the standby's
// acknowledgement, a fetch past the primary's end refused, a standby holding records its primary
// does not have undoing them, and the epoch fence.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
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
  std::unique_ptr<db::Database> open(const std::string& name, bool sync = false) {
    auto db = db::Database::open(base_ + "/" + name, {.create = true, .sync = sync, .owner_id = name});
    db->put_meta(db::kMetaRegion, "1669180253");
    db->put_meta(db::kMetaDispatcher, "1");
    return db;
  }
  static void put(db::Database& db, const std::string& key) {
    auto t = db.begin();
    t->put(db::Table::kObjects, key, "v-" + key);
    t->commit();
  }
  // A started source for `primary` with the standby "127.0.0.3:94" joined.
  std::unique_ptr<ReplicationSource> source_with_standby(db::Database& primary) {
    auto source = std::make_unique<ReplicationSource>(primary, log_);
    source->start();
    source->add_standby("s", "127.0.0.3", 94);
    return source;
  }
  static std::string read_file(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  std::string base_;
  OservLog log_;
};

TEST_F(ReplicationTest, AStandbyFollowsWhileWritersCommit) {
  // Durable commits, as in production: a standby's fetches then fall while groups commit.
  auto primary = open("p", true);
  auto standby = open("s", true);
  auto source_ptr = source_with_standby(*primary);
  ReplicationSource& source = *source_ptr;
  ReplicaFollower follower(*standby, log_, "p",
                           [&](std::uint64_t after, std::uint32_t crc, std::chrono::milliseconds) {
                             return source.fetch("127.0.0.3:94", after, crc,
                                                 std::chrono::milliseconds(20));
                           });
  follower.start();
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) put(*primary, fmt::format("{}-{}", w, i));
    });
  for (auto& t : writers) t.join();
  for (int i = 0; i < 500 && standby->last_seq() < primary->last_seq(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  follower.stop();
  EXPECT_EQ(standby->last_seq(), primary->last_seq());
  EXPECT_EQ(read_file(base_ + "/oservlog").find("undid"), std::string::npos)
      << "a record read while its group committed was taken for another";
  EXPECT_EQ(standby->scan(db::Table::kObjects), primary->scan(db::Table::kObjects));
  const auto lines = source.status();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("Replication: primary, epoch 1, async"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("in sync"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[2], "  automatic promotion: off");
}

TEST_F(ReplicationTest, ARecordSentBeforeItsGroupIsDurableIsRecognisedWhileTheGroupCommits) {
  // A standby asks about the newest record (often still pending) again and again while durable
  // group commits run: the primary must recognise it whether the group is pending, committing
  // or done, or the standby would undo a record the primary has.
  auto primary = open("p", true);
  auto source_ptr = source_with_standby(*primary);
  ReplicationSource& source = *source_ptr;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) put(*primary, fmt::format("{}-{}", w, i));
    });
  int asked = 0, diverged = 0;
  for (const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
       std::chrono::steady_clock::now() < until; ++asked) {
    const std::uint64_t last = primary->last_seq();
    const auto newest = primary->replog_record(last);
    if (!newest) continue;
    diverged += source.fetch("127.0.0.3:94", last, db::replog_crc(*newest),
                             std::chrono::milliseconds(0)).diverged;
  }
  stop = true;
  for (auto& t : writers) t.join();
  EXPECT_GT(asked, 100);
  EXPECT_EQ(diverged, 0) << "of " << asked;
}

TEST_F(ReplicationTest, ASynchronousCommitReturnsOnlyOnceTheStandbyHasIt) {
  auto primary = open("p");
  auto standby = open("s");
  auto source_ptr = source_with_standby(*primary);
  ReplicationSource& source = *source_ptr;
  source.set_mode("sync");
  // In sync once a fetch has returned it everything.
  standby->apply_replicated(source.fetch("127.0.0.3:94", 0, 0, std::chrono::milliseconds(1)).records);
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
  auto batch = source.fetch("127.0.0.3:94", standby->last_seq(), 0, std::chrono::milliseconds(1000));
  ASSERT_FALSE(batch.records.empty());
  standby->apply_replicated(batch.records);
  EXPECT_FALSE(committed.load()) << "fetched is not yet acknowledged";
  source.fetch("127.0.0.3:94", standby->last_seq(), 0, std::chrono::milliseconds(1));  // the ack
  writer.join();
  EXPECT_TRUE(committed.load());
  EXPECT_EQ(standby->read(db::Table::kObjects, "waits"), "v-waits");
}

TEST_F(ReplicationTest, AStandbyAheadOfThePrimaryIsToldToCopyAgain) {
  auto primary = open("p");
  ReplicationSource source(*primary, log_);
  source.start();
  EXPECT_THROW(source.fetch("x", 0, 0, std::chrono::milliseconds(1)), Failure) << "no standby: off";
  source.add_standby("s", "127.0.0.3", 94);
  put(*primary, "a");
  try {
    source.fetch("127.0.0.3:94", primary->last_seq() + 5, 0, std::chrono::milliseconds(1));
    FAIL() << "a position past the primary's last was taken";
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("must be copied again"), std::string::npos) << e.what();
  }
}

TEST_F(ReplicationTest, AStandbyUndoesWhatItsPrimaryDoesNotHaveAndFollowsIt) {
  // The standby follows `primary` to its transaction 4; `other` is the primary's backup at 2
  // that then committed other transactions 3 to 5 (as a primary that restarted without what it
  // had sent, or a promoted standby that never got it).
  auto primary = open("p");
  auto standby = open("s");
  auto source_ptr = source_with_standby(*primary);
  ReplicationSource& source = *source_ptr;
  put(*primary, "kept");
  ASSERT_EQ(primary->last_seq(), 2u);
  primary->backup(base_ + "/o");
  put(*primary, "lost-1");
  put(*primary, "lost-2");
  standby->apply_replicated(source.fetch("127.0.0.3:94", 0, 0, std::chrono::milliseconds(1)).records);
  ASSERT_EQ(standby->last_seq(), 4u);
  auto other = db::Database::open(base_ + "/o", {.sync = false, .owner_id = "o"});
  ReplicationSource other_source(*other, log_);
  other_source.start();
  for (const char* key : {"other-1", "other-2", "other-3"}) put(*other, key);
  const std::uint32_t crc4 = db::replog_crc(standby->replog_record(4).value());
  const auto told = other_source.fetch("127.0.0.3:94", 4, crc4, std::chrono::milliseconds(1));
  EXPECT_TRUE(told.diverged);
  EXPECT_TRUE(told.records.empty());

  ReplicaFollower follower(*standby, log_, "o",
                           [&](std::uint64_t after, std::uint32_t crc, std::chrono::milliseconds wait) {
                             return other_source.fetch("127.0.0.3:94", after, crc, wait);
                           });
  follower.start();
  for (int i = 0; i < 500 && standby->read(db::Table::kObjects, "other-3") == std::nullopt; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  follower.stop();
  EXPECT_EQ(follower.behind_and_undone(), std::make_pair(std::uint64_t{0}, std::uint64_t{2}));
  EXPECT_EQ(standby->last_seq(), 5u);
  EXPECT_EQ(standby->scan(db::Table::kObjects), other->scan(db::Table::kObjects));
  EXPECT_FALSE(standby->read(db::Table::kObjects, "lost-1"));
  const auto report = read_file(standby->dir() + "/undone.txt");
  EXPECT_NE(report.find("transaction 4 "), std::string::npos) << report;
  EXPECT_NE(report.find("objects/lost-2: (absent) -> v-lost-2"), std::string::npos) << report;
  EXPECT_NE(report.find("objects/lost-1: (absent) -> v-lost-1"), std::string::npos) << report;
  const auto log = read_file(base_ + "/oservlog");
  EXPECT_NE(log.find("standby: undid transaction 4 "), std::string::npos) << log;
  EXPECT_NE(log.find("standby: undid transaction 3 "), std::string::npos) << log;
}

TEST_F(ReplicationTest, ADemotedPrimaryReportsWhatItCommittedUnderNumbersTheWinnerHasOtherwise) {
  // `old` sent transactions 3 and 4 to its standby and stopped before committing them; the
  // standby (`winner`, here the backup at 2 that then applied 3 and 4 as `old` had made them)
  // was promoted at 4, its epoch starting at 5. `old` ran again without them and committed 3 to
  // 5 anew before it learned of the promotion.
  auto old = open("p");
  auto source_ptr = source_with_standby(*old);
  put(*old, "kept");
  ASSERT_EQ(old->last_seq(), 2u);
  old->backup(base_ + "/w");
  auto winner = db::Database::open(base_ + "/w", {.sync = false, .owner_id = "w"});
  ReplicationSource winner_source(*winner, log_);
  winner_source.start();
  put(*winner, "sent-1");
  put(*winner, "sent-2");
  for (const char* key : {"anew-1", "anew-2", "anew-3"}) put(*old, key);
  const Checksums theirs = [&](std::uint64_t from, std::uint32_t count) {
    return replica_checksums(*winner, from, count);
  };
  EXPECT_EQ(replica_checksums(*winner, 2, 4),
            (std::vector<std::uint32_t>{db::replog_crc(*winner->replog_record(2)),
                                        db::replog_crc(*winner->replog_record(3)),
                                        db::replog_crc(*winner->replog_record(4)), 0}));
  EXPECT_EQ(first_difference(*old, 5, theirs), 3u) << "3 and 4 differ, 2 is the same";
  EXPECT_EQ(first_difference(*old, 3, theirs), 3u) << "nothing below 3 differs";
  for (const char* key : {"later-1", "later-2", "later-3", "later-4"}) put(*winner, key);
  EXPECT_EQ(first_difference(*old, 9, theirs), 3u) << "from its own end (5), far behind the winner";
  EXPECT_EQ(first_difference(*old, 9, theirs, 3), 3u) << "3 looked at back from its own end";
  const Checksums lying = [](std::uint64_t, std::uint32_t count) {
    return std::vector<std::uint32_t>(count, 7);
  };
  EXPECT_EQ(first_difference(*old, 5, lying, 3), 2u) << "a peer matching nothing: only so far";
  const Checksums trimmed = [](std::uint64_t, std::uint32_t count) {
    return std::vector<std::uint32_t>(count, 0);
  };
  EXPECT_EQ(first_difference(*old, 5, trimmed), 5u) << "the winner no longer holds them";
  const Checksums short_list = [](std::uint64_t, std::uint32_t) { return std::vector<std::uint32_t>{}; };
  EXPECT_THROW(first_difference(*old, 5, short_list), Failure);

  OdRecord primary;
  primary.od = 1;
  primary.hostnames = {"winner"};
  primary.ip = "127.0.0.9";
  primary.port = 94;
  const std::string path = demote(*old, log_, primary, 2, 5, 3);
  const auto report = read_file(path);
  for (const char* key : {"anew-1", "anew-2", "anew-3"})
    EXPECT_NE(report.find(fmt::format("objects/{}: (absent) -> v-{}", key, key)), std::string::npos)
        << report;
  EXPECT_NE(report.find("# Transactions 3 to 4 come before that start"), std::string::npos) << report;
  EXPECT_NE(read_file(base_ + "/oservlog").find("diverged: transaction 3 "), std::string::npos);
  EXPECT_EQ(old->read(db::Table::kMeta, db::kMetaRole), "demoted");
}

TEST_F(ReplicationTest, AGroupSentAndThenNotCommittedIsTakenBackAtTheSource) {
  // A map of 1 MiB: a 600 KB value's record is made and sent, the value itself does not fit.
  auto primary = db::Database::open(base_ + "/p", {.create = true, .sync = false,
                                                   .map_size = 1u << 20, .owner_id = "p"});
  primary->put_meta(db::kMetaRegion, "1669180253");
  primary->put_meta(db::kMetaDispatcher, "1");
  auto standby = open("s");
  auto source_ptr = source_with_standby(*primary);
  ReplicationSource& source = *source_ptr;
  put(*primary, "a");
  standby->apply_replicated(source.fetch("127.0.0.3:94", 0, 0, std::chrono::milliseconds(1)).records);
  const std::uint64_t at = standby->last_seq();
  const std::uint32_t crc = db::replog_crc(standby->replog_record(at).value());
  {
    auto t = primary->begin();
    t->put(db::Table::kObjects, "big", std::string(600 * 1024, 'x'));
    EXPECT_THROW(t->commit(), db::DbError);
  }
  EXPECT_NE(read_file(base_ + "/oservlog")
                .find(fmt::format("transactions {} to {} were sent to standbys and then not "
                                  "committed here",
                                  at + 1, at + 1)),
            std::string::npos);
  EXPECT_EQ(source.taken_back(), 1u);
  ASSERT_EQ(source.standby_figures().size(), 1u);
  EXPECT_EQ(source.standby_figures()[0].behind, at) << "acknowledged 0; the one taken back is not owed";
  auto batch = source.fetch("127.0.0.3:94", at, crc, std::chrono::milliseconds(1));
  EXPECT_FALSE(batch.diverged);
  EXPECT_TRUE(batch.records.empty()) << "nothing committed after " << at;
  EXPECT_EQ(batch.primary_seq, at);
  put(*primary, "next");
  batch = source.fetch("127.0.0.3:94", at, crc, std::chrono::milliseconds(1));
  ASSERT_EQ(batch.records.size(), 1u);
  EXPECT_EQ(db::ReplicatedTxn::decode(batch.records[0]).changes.at(0).key, "next");
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
