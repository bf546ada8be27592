// Open transactions held across calls: sub-transactions share their family's lock, unknown
// numbers are refused, a stop rolls back children before parents.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <fmt/core.h>

#include "TransactionSessions.h"

namespace openoserv {
namespace {

class TransactionSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fmt::format("{}/sessions-{}-{}", ::testing::TempDir(), ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db_ = db::Database::open(dir_, {.create = true, .sync = false, .owner_id = "test"});
    db_->put_meta(db::kMetaRegion, "1669180253");
    db_->put_meta(db::kMetaDispatcher, "1");
    log_.open(dir_ + "/oservlog");
    log_.set_mirror_stderr(false);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string dir_;
  std::unique_ptr<db::Database> db_;
  OservLog log_;
};

TEST_F(TransactionSessionsTest, SubTransactionsFoldIntoTheirParent) {
  TransactionSessions s(*db_);
  const auto top = s.begin(0, "top");
  const auto sub = s.begin(top, "sub");
  s.with(sub, [](db::Transaction& t) { t.put(db::Table::kObjects, "k", "v"); });
  EXPECT_THROW(s.commit(top), db::DbError) << "a parent with an open child";
  s.commit(sub);
  EXPECT_EQ(s.with(top, [](db::Transaction& t) { return t.get(db::Table::kObjects, "k"); }), "v");
  s.commit(top);
  EXPECT_EQ(db_->read(db::Table::kObjects, "k"), "v");
  EXPECT_THROW(s.commit(top), Failure) << "gone once committed";
}

TEST_F(TransactionSessionsTest, UnknownTransactionsAreRefusedByNumber) {
  TransactionSessions s(*db_);
  try {
    s.abort(12345);
    FAIL() << "aborted a transaction that does not exist";
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("no open transaction"), std::string::npos) << e.what();
  }
}

TEST_F(TransactionSessionsTest, CallsOnOneFamilyFromManyThreadsAreSerialised) {
  // A parent's sub-transactions change the parent's state (its children count, its changes):
  // calls on the family from several threads must not interleave (TSan checks this test too).
  TransactionSessions s(*db_);
  const auto top = s.begin(0, "top");
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        const auto sub = s.begin(top, "sub");
        s.with(sub, [&](db::Transaction& t) {
          t.put(db::Table::kObjects, fmt::format("w{}.{}", w, i), "v");
        });
        s.commit(sub);
      }
    });
  for (auto& t : workers) t.join();
  s.commit(top);
  EXPECT_EQ(db_->scan(db::Table::kObjects).size(), 100u);
}

TEST_F(TransactionSessionsTest, AbortAllRollsBackEverythingOpen) {
  TransactionSessions s(*db_);
  const auto top = s.begin(0, "top");
  s.with(top, [](db::Transaction& t) { t.put(db::Table::kObjects, "a", "1"); });
  const auto sub = s.begin(top, "sub");
  s.with(sub, [](db::Transaction& t) { t.put(db::Table::kObjects, "b", "2"); });
  s.abort_all(log_);
  EXPECT_TRUE(db_->transactions().empty());
  EXPECT_TRUE(db_->scan(db::Table::kObjects).empty());
  EXPECT_THROW(s.abort(top), Failure);
}

}  // namespace
}  // namespace openoserv
