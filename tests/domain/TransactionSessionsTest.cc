// Open transactions held across calls: sub-transactions share their family's lock, unknown
// numbers are refused, a stop rolls back children before parents.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <fmt/core.h>

#include "TextFile.h"
#include "TransactionSessions.h"

namespace openoserv {
namespace {

const std::string kOwner = "root (uid 0, local)";

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
  TransactionSessions s(*db_, log_, std::chrono::seconds(600));
  const auto top = s.begin(0, "top", kOwner);
  const auto sub = s.begin(top, "sub", kOwner);
  s.with(sub, kOwner, [](db::Transaction& t) { t.put(db::Table::kObjects, "k", "v"); });
  EXPECT_THROW(s.commit(top, kOwner), db::DbError) << "a parent with an open child";
  s.commit(sub, kOwner);
  EXPECT_EQ(s.with(top, kOwner, [](db::Transaction& t) { return t.get(db::Table::kObjects, "k"); }), "v");
  s.commit(top, kOwner);
  EXPECT_EQ(db_->read(db::Table::kObjects, "k"), "v");
  EXPECT_THROW(s.commit(top, kOwner), Failure) << "gone once committed";
}

TEST_F(TransactionSessionsTest, UnknownTransactionsAreRefusedByNumber) {
  TransactionSessions s(*db_, log_, std::chrono::seconds(600));
  try {
    s.abort(12345, kOwner);
    FAIL() << "aborted a transaction that does not exist";
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("no open transaction"), std::string::npos) << e.what();
  }
}

TEST_F(TransactionSessionsTest, CallsOnOneFamilyFromManyThreadsAreSerialised) {
  // A parent's sub-transactions change the parent's state (its children count, its changes):
  // calls on the family from several threads must not interleave (TSan checks this test too).
  TransactionSessions s(*db_, log_, std::chrono::seconds(600));
  const auto top = s.begin(0, "top", kOwner);
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w)
    workers.emplace_back([&, w] {
      for (int i = 0; i < 25; ++i) {
        const auto sub = s.begin(top, "sub", kOwner);
        s.with(sub, kOwner, [&](db::Transaction& t) {
          t.put(db::Table::kObjects, fmt::format("w{}.{}", w, i), "v");
        });
        s.commit(sub, kOwner);
      }
    });
  for (auto& t : workers) t.join();
  s.commit(top, kOwner);
  EXPECT_EQ(db_->scan(db::Table::kObjects).size(), 100u);
}

TEST_F(TransactionSessionsTest, AbortAllRollsBackEverythingOpen) {
  TransactionSessions s(*db_, log_, std::chrono::seconds(600));
  const auto top = s.begin(0, "top", kOwner);
  s.with(top, kOwner, [](db::Transaction& t) { t.put(db::Table::kObjects, "a", "1"); });
  const auto sub = s.begin(top, "sub", kOwner);
  s.with(sub, kOwner, [](db::Transaction& t) { t.put(db::Table::kObjects, "b", "2"); });
  s.abort_all();
  EXPECT_TRUE(db_->transactions().empty());
  EXPECT_TRUE(db_->scan(db::Table::kObjects).empty());
  EXPECT_THROW(s.abort(top, kOwner), Failure);
}

// A family whose client went away: rolled back past its lease, its locks released so another
// transaction can change the record, logged; a late call on it is told why.
TEST_F(TransactionSessionsTest, AFamilyIdlePastItsLeaseIsRolledBackAndItsLocksReleased) {
  TransactionSessions s(*db_, log_, std::chrono::seconds(1));
  const auto top = s.begin(0, "vanished client", kOwner);
  s.with(top, kOwner, [](db::Transaction& t) { t.put(db::Table::kObjects, "k", "held"); });
  const auto sub = s.begin(top, "its child", kOwner);
  EXPECT_EQ(s.idle(*s.id_of(top)), std::chrono::seconds(0));
  for (int i = 0; i < 50 && !db_->transactions().empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(db_->transactions().empty()) << "not rolled back within 5 s";
  EXPECT_FALSE(db_->read(db::Table::kObjects, "k"));
  const auto other = s.begin(0, "next client", kOwner);
  s.with(other, kOwner, [](db::Transaction& t) { t.put(db::Table::kObjects, "k", "mine"); });
  s.commit(other, kOwner);
  EXPECT_THROW(s.commit(top, kOwner), Failure);
  EXPECT_THROW(s.with(sub, kOwner, [](db::Transaction&) { return 0; }), Failure);
  const std::string log = read_text_file(dir_ + "/oservlog").value_or("");
  EXPECT_NE(log.find("had no call for longer than its lease (1 s"), std::string::npos) << log;
}

TEST_F(TransactionSessionsTest, CallsKeepAFamilyAliveAndItsIdleTimeIsShown) {
  TransactionSessions s(*db_, log_, std::chrono::seconds(2));
  const auto top = s.begin(0, "busy client", kOwner);
  for (int i = 0; i < 30; ++i) {  // 3 s of calls, each well inside the lease
    s.with(top, kOwner, [&](db::Transaction& t) { t.put(db::Table::kObjects, "k", std::to_string(i)); });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  s.commit(top, kOwner);
  EXPECT_EQ(db_->read(db::Table::kObjects, "k"), "29");
  const auto idle = s.begin(0, "idle", kOwner);
  std::this_thread::sleep_for(std::chrono::milliseconds(1700));
  EXPECT_GE(s.idle(*s.id_of(idle)).value_or(std::chrono::seconds(0)).count(), 1);
  EXPECT_EQ(s.near_lease(0.5).size(), 1u);
  EXPECT_FALSE(s.idle(12345).has_value());
}

// Handles are the kernel's random numbers, not the database's sequential ids; a transaction is
// its owner's alone: another caller can neither use, commit, abort nor extend it.
TEST_F(TransactionSessionsTest, HandlesAreUnguessableAndOnlyTheOwnerMayUseThem) {
  TransactionSessions s(*db_, log_, std::chrono::seconds(600));
  const auto a = s.begin(0, "a", kOwner);
  const auto b = s.begin(0, "b", kOwner);
  EXPECT_NE(*s.id_of(b), b) << "the handle is not the database id";
  EXPECT_GT(a > b ? a - b : b - a, 1000000u) << "consecutive handles are not neighbours";
  const std::string mallory = "mallory (uid 1001, local)";
  EXPECT_THROW(s.with(a, mallory, [](db::Transaction& t) { t.put(db::Table::kObjects, "k", "x"); }),
               Failure);
  EXPECT_THROW(s.commit(a, mallory), Failure);
  EXPECT_THROW(s.abort(a, mallory), Failure);
  EXPECT_THROW(s.begin(a, "child", mallory), Failure);
  try {
    s.abort(a, mallory);
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("belongs to root (uid 0, local)"), std::string::npos)
        << e.what();
  }
  s.with(a, kOwner, [](db::Transaction& t) { t.put(db::Table::kObjects, "k", "mine"); });
  s.commit(a, kOwner);
  s.abort(b, kOwner);
  EXPECT_EQ(db_->read(db::Table::kObjects, "k"), "mine");
}

}  // namespace
}  // namespace openoserv
