// The replication log: records in commit order with before- and after-images, a standby's copy
// equal to the primary's, positions that survive a reopen, damaged or out-of-order records
// refused without a change, a group published before it is durable and taken back when it
// fails, a standby's last record undone.
#include <gtest/gtest.h>
#include <fmt/core.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "Database.h"
#include "Replog.h"

namespace openoserv::db {
namespace {

class ReplogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = std::filesystem::temp_directory_path() /
            fmt::format("openoserv-replog-{}-{}", ::getpid(),
                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(base_);
    std::filesystem::create_directories(base_);
  }
  void TearDown() override { std::filesystem::remove_all(base_); }
  std::unique_ptr<Database> open(const std::string& name, bool create) {
    auto db = Database::open(base_ + "/" + name, {.create = create, .sync = false, .owner_id = name});
    if (create) {
      db->put_meta(kMetaRegion, "1669180253");
      db->put_meta(kMetaDispatcher, "1");
      db->put_meta(kMetaInstanceId, name);
    }
    return db;
  }
  static void put(Database& db, Table table, const std::string& key, const std::string& value) {
    auto t = db.begin();
    t->put(table, key, value);
    t->commit();
  }
  // Every record of `from` after `after`, applied to `to`.
  static void follow(Database& from, Database& to) {
    to.apply_replicated(from.replog_after(to.last_seq(), 1 << 20));
  }
  std::string base_;
};

TEST_F(ReplogTest, OffByDefault) {
  auto db = open("p", true);
  put(*db, Table::kNames, "a", "1");
  EXPECT_EQ(db->last_seq(), 0u);
  EXPECT_TRUE(db->replog_after(0, 1 << 20).empty());
}

TEST_F(ReplogTest, RecordsCarryBeforeAndAfterImagesInCommitOrder) {
  auto db = open("p", true);
  db->set_replog(true, 3);
  put(*db, Table::kNames, "a", "1");
  auto t = db->begin();
  t->put(Table::kNames, "a", "2");
  t->erase(Table::kNames, "missing");
  t->put(Table::kMeta, kMetaInstanceId, "renamed");  // the instance's own: not logged
  t->commit();
  EXPECT_EQ(t->seq(), 2u);
  EXPECT_EQ(db->last_seq(), 2u);
  const auto records = db->replog_after(0, 1 << 20);
  ASSERT_EQ(records.size(), 2u);
  const auto first = ReplicatedTxn::decode(records[0]);
  const auto second = ReplicatedTxn::decode(records[1]);
  EXPECT_EQ(first.seq, 1u);
  EXPECT_EQ(first.epoch, 3u);
  ASSERT_EQ(first.changes.size(), 1u);
  EXPECT_FALSE(first.changes[0].before);
  EXPECT_EQ(first.changes[0].after, "1");
  ASSERT_EQ(second.changes.size(), 2u);
  EXPECT_EQ(second.txn, t->id());
  EXPECT_EQ(second.changes[0].key, "a");
  EXPECT_EQ(second.changes[0].before, "1");
  EXPECT_EQ(second.changes[0].after, "2");
  EXPECT_FALSE(second.changes[1].after);
  EXPECT_EQ(db->replog_after(1, 1 << 20).size(), 1u);
}

TEST_F(ReplogTest, AStandbyFollowsToTheSameStateAndKeepsItsPlaceAcrossAReopen) {
  auto primary = open("p", true);
  primary->set_replog(true, 1);
  auto standby = open("s", true);
  for (int i = 0; i < 50; ++i) put(*primary, Table::kObjects, fmt::format("o{}", i), std::to_string(i));
  follow(*primary, *standby);
  {
    auto t = primary->begin();
    t->erase(Table::kObjects, "o7");
    t->put(Table::kNames, "n", "x");
    t->commit();
  }
  follow(*primary, *standby);
  EXPECT_EQ(standby->last_seq(), 51u);
  EXPECT_EQ(standby->scan(Table::kObjects), primary->scan(Table::kObjects));
  EXPECT_EQ(standby->read(Table::kNames, "n"), "x");
  EXPECT_EQ(standby->get_meta(kMetaInstanceId), "s");  // its own name stays its own
  EXPECT_EQ(standby->replog_after(0, 1 << 30), primary->replog_after(0, 1 << 30));
  standby.reset();
  standby = open("s", false);
  EXPECT_EQ(standby->last_seq(), 51u);
  put(*primary, Table::kObjects, "late", "1");
  follow(*primary, *standby);
  EXPECT_EQ(standby->read(Table::kObjects, "late"), "1");
}

TEST_F(ReplogTest, OutOfOrderOrDamagedRecordsAreRefusedAndChangeNothing) {
  auto primary = open("p", true);
  primary->set_replog(true, 1);
  auto standby = open("s", true);
  put(*primary, Table::kObjects, "a", "1");
  put(*primary, Table::kObjects, "b", "2");
  const auto records = primary->replog_after(0, 1 << 20);
  EXPECT_THROW(standby->apply_replicated(records[1]), DbError);  // 2 before 1
  std::string damaged = records[0];
  damaged[damaged.size() - 1] ^= 0x20;
  EXPECT_THROW(standby->apply_replicated(damaged), DbError);
  EXPECT_THROW(standby->apply_replicated(damaged.substr(0, 12)), DbError);
  EXPECT_EQ(standby->last_seq(), 0u);
  EXPECT_TRUE(standby->scan(Table::kObjects).empty());
  standby->apply_replicated(records[0]);
  standby->apply_replicated(records[1]);
  EXPECT_EQ(standby->scan(Table::kObjects), primary->scan(Table::kObjects));
}

TEST_F(ReplogTest, ABatchIsAppliedWholeOrNotAtAll) {
  auto primary = open("p", true);
  primary->set_replog(true, 1);
  auto standby = open("s", true);
  for (int i = 0; i < 5; ++i) put(*primary, Table::kObjects, fmt::format("o{}", i), "v");
  auto records = primary->replog_after(0, 1 << 20);
  ASSERT_EQ(records.size(), 5u);
  auto damaged = records;
  damaged[3][damaged[3].size() - 1] ^= 0x01;
  EXPECT_THROW(standby->apply_replicated(damaged), DbError);
  auto gap = records;
  gap.erase(gap.begin() + 2);
  EXPECT_THROW(standby->apply_replicated(gap), DbError);
  EXPECT_EQ(standby->last_seq(), 0u);
  EXPECT_TRUE(standby->scan(Table::kObjects).empty());
  standby->apply_replicated(records);
  EXPECT_EQ(standby->last_seq(), 5u);
  EXPECT_EQ(standby->scan(Table::kObjects), primary->scan(Table::kObjects));
  EXPECT_EQ(standby->replog_after(0, 1 << 20), records);
}

TEST_F(ReplogTest, TheLogKeepsTheLastRecordsOnlyAndSaysWhereItStarts) {
  auto db = open("p", true);
  db->set_replog(true, 1, 10);
  for (int i = 0; i < 25; ++i) put(*db, Table::kObjects, "k", std::to_string(i));
  std::uint64_t first = 0;
  const auto records = db->replog_after(0, 1 << 20, &first);
  EXPECT_EQ(first, 16u);
  ASSERT_EQ(records.size(), 10u);
  EXPECT_EQ(replog_seq(records.front()), 16u);
  EXPECT_EQ(replog_seq(records.back()), 25u);
}

TEST_F(ReplogTest, ConcurrentCommitsGetDistinctConsecutiveNumbers) {
  auto db = open("p", true);
  db->set_replog(true, 1);
  std::atomic<std::uint64_t> notified{0};
  db->set_on_published([&](std::uint64_t seq) {
    auto seen = notified.load();
    while (seq > seen && !notified.compare_exchange_weak(seen, seq)) {
    }
  });
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 100; ++i) put(*db, Table::kObjects, fmt::format("{}-{}", w, i), "v");
    });
  for (auto& t : writers) t.join();
  EXPECT_EQ(db->last_seq(), 400u);
  EXPECT_EQ(notified.load(), 400u);
  const auto records = db->replog_after(0, 1 << 30);
  ASSERT_EQ(records.size(), 400u);
  for (std::size_t i = 0; i < records.size(); ++i) EXPECT_EQ(replog_seq(records[i]), i + 1);
}

TEST_F(ReplogTest, AGroupIsPublishedBeforeItIsDurableAndTakenBackWhenItFails) {
  // A map of 1 MiB: the record of a 600 KB value fits, the value beside it does not.
  auto db = Database::open(base_ + "/p", {.create = true, .sync = false, .map_size = 1u << 20,
                                          .owner_id = "p"});
  db->set_replog(true, 1);
  put(*db, Table::kObjects, "small", "1");
  std::vector<std::uint64_t> calls;
  std::vector<std::size_t> seen;  // how many records a reader saw at each call
  db->set_on_published([&](std::uint64_t seq) {
    calls.push_back(seq);
    seen.push_back(db->replog_after(1, 1 << 30).size());
  });
  EXPECT_THROW(put(*db, Table::kObjects, "big", std::string(600 * 1024, 'x')), DbError);
  ASSERT_EQ(calls, (std::vector<std::uint64_t>{2, 1})) << "published, then taken back";
  EXPECT_EQ(seen, (std::vector<std::size_t>{1, 0})) << "readable while pending, gone after";
  EXPECT_EQ(db->last_seq(), 1u);
  EXPECT_TRUE(db->replog_after(1, 1 << 30).empty());
  EXPECT_FALSE(db->read(Table::kObjects, "big"));
  put(*db, Table::kObjects, "next", "2");  // the number is given again, to another record
  const auto records = db->replog_after(1, 1 << 30);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(replog_seq(records[0]), 2u);
  EXPECT_EQ(ReplicatedTxn::decode(records[0]).changes.at(0).key, "next");
}

TEST_F(ReplogTest, AStandbyUndoesItsLastRecordDurably) {
  auto primary = open("p", true);
  primary->set_replog(true, 1);
  auto standby = open("s", true);
  put(*primary, Table::kObjects, "a", "1");
  follow(*primary, *standby);
  {
    auto t = primary->begin();
    t->put(Table::kObjects, "a", "2");
    t->put(Table::kObjects, "b", "new");
    t->commit();
  }
  follow(*primary, *standby);
  EXPECT_THROW(standby->retract_replicated(1), DbError) << "not the last";
  const auto undone = standby->retract_replicated(2);
  EXPECT_EQ(undone.changes.size(), 2u);
  EXPECT_EQ(standby->last_seq(), 1u);
  EXPECT_EQ(standby->read(Table::kObjects, "a"), "1");
  EXPECT_FALSE(standby->read(Table::kObjects, "b"));
  EXPECT_EQ(standby->replog_after(0, 1 << 20).size(), 1u);
  standby.reset();
  standby = open("s", false);
  EXPECT_EQ(standby->last_seq(), 1u) << "the position is kept";
  follow(*primary, *standby);  // and the primary's record 2 applies again
  EXPECT_EQ(standby->scan(Table::kObjects), primary->scan(Table::kObjects));
}

}  // namespace
}  // namespace openoserv::db
