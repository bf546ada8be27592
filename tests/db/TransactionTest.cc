// Framework transactions: commit, abort, nesting, locks and their timeouts, journal size, and
// recovery of transactions left open by a process that went away.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <thread>

#include <fmt/core.h>

#include "Database.h"
#include "LockTable.h"
#include "RollbackJournal.h"

namespace openoserv::db {
namespace {

class TransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("openoserv-txtest-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db_ = open(true);
    db_->put_meta(kMetaRegion, "1669180253");
    db_->put_meta(kMetaDispatcher, "1");
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<Database> open(bool create = false) {
    return Database::open(dir_, {.create = create, .sync = false, .owner_id = "t",
                                 .lock_timeout = std::chrono::milliseconds(200)});
  }
  std::optional<std::string> value(const std::string& key) {
    return db_->read(Table::kObjects, key);
  }
  std::string dir_;
  std::unique_ptr<Database> db_;
};

// The idle purge empties odb.log in the background (journal_idle is 100 ms by default).
bool journal_empties(Database& db) {
  for (int i = 0; i < 100; ++i) {
    if (db.journal_size() == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST_F(TransactionTest, CommitKeepsAndTheJournalEmptiesWhenIdle) {
  auto t = db_->begin();
  t->put(Table::kObjects, "o1", "v1");
  EXPECT_GT(db_->journal_size(), 0u);
  t->commit();
  EXPECT_EQ(value("o1"), "v1");
  EXPECT_TRUE(journal_empties(*db_));
}

TEST_F(TransactionTest, JournalIsKeptWhileATransactionIsOpen) {
  auto open_txn = db_->begin();
  open_txn->put(Table::kObjects, "held", "x");
  auto t = db_->begin();
  t->put(Table::kObjects, "o1", "v1");
  t->commit();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_GT(db_->journal_size(), 0u);
  EXPECT_FALSE(db_->purge_journal());
  open_txn->abort();
  EXPECT_TRUE(db_->purge_journal());
  EXPECT_EQ(db_->journal_size(), 0u);
}

TEST_F(TransactionTest, CommittedWorkSurvivesACleanCloseAndReopen) {
  for (int i = 0; i < 5; ++i) {
    auto t = db_->begin();
    t->put(Table::kObjects, fmt::format("k{}", i), "v");
    t->commit();
  }
  db_.reset();
  db_ = open();
  EXPECT_TRUE(db_->recovery().rolled_back.empty());
  EXPECT_EQ(db_->scan(Table::kObjects).size(), 5u);
  for (const auto& [key, value] : db_->scan(Table::kMeta))
    EXPECT_NE(key.rfind("commit/", 0), 0u) << "commit marker left: " << key;
}

TEST_F(TransactionTest, AbortRestoresBeforeImagesInReverse) {
  db_->begin()->put(Table::kObjects, "o1", "orig");  // destructor aborts: nothing stays
  EXPECT_FALSE(value("o1"));
  {
    auto t = db_->begin();
    t->put(Table::kObjects, "o1", "orig");
    t->commit();
  }
  auto t = db_->begin();
  t->put(Table::kObjects, "o1", "a");
  t->put(Table::kObjects, "o1", "b");
  t->erase(Table::kObjects, "o1");
  t->put(Table::kObjects, "o2", "new");
  t->abort();
  EXPECT_EQ(value("o1"), "orig");
  EXPECT_FALSE(value("o2"));
  EXPECT_TRUE(journal_empties(*db_));
}

TEST_F(TransactionTest, SubTransactionAbortUndoesOnlyItsOwnChanges) {
  auto top = db_->begin();
  top->put(Table::kObjects, "a", "top");
  {
    auto sub = db_->begin(top.get());
    sub->put(Table::kObjects, "a", "sub");
    sub->put(Table::kObjects, "b", "sub");
    EXPECT_EQ(sub->get(Table::kObjects, "a"), "sub");
    sub->abort();
  }
  EXPECT_EQ(top->get(Table::kObjects, "a"), "top");
  EXPECT_FALSE(top->get(Table::kObjects, "b"));
  {
    auto sub = db_->begin(top.get());
    EXPECT_EQ(sub->get(Table::kObjects, "a"), "top");  // sees its ancestors' changes
    sub->put(Table::kObjects, "c", "kept");
    sub->commit();
  }
  EXPECT_EQ(top->get(Table::kObjects, "c"), "kept");
  top->abort();  // the committed sub-transaction folded into the parent: undone with it
  EXPECT_FALSE(value("a"));
  EXPECT_FALSE(value("c"));
}

TEST_F(TransactionTest, UncommittedChangesAreInvisibleOutside) {
  auto top = db_->begin();
  top->put(Table::kObjects, "a", "1");
  auto sub = db_->begin(top.get());
  sub->put(Table::kObjects, "b", "2");
  sub->commit();
  EXPECT_FALSE(value("a"));
  EXPECT_FALSE(value("b"));
  top->commit();
  EXPECT_EQ(value("a"), "1");
  EXPECT_EQ(value("b"), "2");
}

TEST_F(TransactionTest, ConcurrentCommitsAreGroupedAndAllDurable) {
  std::vector<std::thread> writers;
  for (int w = 0; w < 8; ++w)
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) {
        auto t = db_->begin();
        t->put(Table::kObjects, fmt::format("w{}.{}", w, i), "v");
        t->commit();
      }
    });
  for (auto& w : writers) w.join();
  EXPECT_EQ(db_->scan(Table::kObjects).size(), 400u);
  EXPECT_TRUE(journal_empties(*db_));
}

TEST_F(TransactionTest, ParentCannotEndWithAnOpenChild) {
  auto top = db_->begin();
  auto sub = db_->begin(top.get());
  EXPECT_THROW(top->commit(), DbError);
  EXPECT_THROW(top->put(Table::kObjects, "x", "y"), DbError);
  sub->commit();
  EXPECT_NO_THROW(top->commit());
  EXPECT_THROW(top->commit(), DbError);
}

TEST_F(TransactionTest, WriteLockBlocksOthersUntilTimeoutNamingTheHolder) {
  auto t1 = db_->begin();
  t1->put(Table::kObjects, "o", "1");
  auto t2 = db_->begin();
  try {
    t2->get(Table::kObjects, "o");
    FAIL();
  } catch (const LockTimeout& e) {
    std::string m = e.what();
    EXPECT_NE(m.find(db_->describe(t1->id())), std::string::npos) << m;
    EXPECT_NE(m.find("objects/o"), std::string::npos) << m;
  }
  auto locks = db_->locks();
  ASSERT_EQ(locks.size(), 1u);
  EXPECT_EQ(locks[0].resource, "objects/o");
  EXPECT_EQ(locks[0].holders, std::vector<std::uint64_t>{t1->id()});
  t1->commit();
  EXPECT_EQ(t2->get(Table::kObjects, "o"), "1");
}

TEST_F(TransactionTest, ReadersShareAndAWaiterGetsTheLockOnRelease) {
  auto r1 = db_->begin();
  auto r2 = db_->begin();
  r1->get(Table::kObjects, "o");
  r2->get(Table::kObjects, "o");  // shared
  auto w = db_->begin();
  EXPECT_THROW(w->put(Table::kObjects, "o", "x"), LockTimeout);
  r1->commit();
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    r2->commit();
  });
  EXPECT_NO_THROW(w->put(Table::kObjects, "o", "x"));  // woken by the release, not the timeout
  release.join();
  w->commit();
}

TEST_F(TransactionTest, SubTransactionsShareTheirTopLevelLocks) {
  auto top = db_->begin();
  top->put(Table::kObjects, "o", "1");
  auto sub = db_->begin(top.get());
  EXPECT_NO_THROW(sub->put(Table::kObjects, "o", "2"));
  sub->commit();
  top->commit();
  EXPECT_EQ(value("o"), "2");
}

TEST_F(TransactionTest, TransactionsAreListedWhileOpen) {
  EXPECT_TRUE(db_->transactions().empty());
  auto top = db_->begin(nullptr, "thread 1073");
  auto sub = db_->begin(top.get(), "thread 1073");
  auto list = db_->transactions();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].parent, 0u);
  EXPECT_EQ(list[1].parent, top->id());
  EXPECT_EQ(list[0].label, "thread 1073");
  EXPECT_EQ(db_->describe(top->id()).rfind("{1669180253:1,1669180253:1,", 0), 0u);
  sub->commit();
  top->commit();
  EXPECT_TRUE(db_->transactions().empty());
}

TEST_F(TransactionTest, OpenTransactionsOfADeadProcessAreRolledBackAtOpen) {
  {
    auto t = db_->begin();
    t->put(Table::kObjects, "committed", "yes");
    t->commit();
  }
  db_.reset();
  // A child process leaves a committed and an open transaction, then dies without cleanup.
  pid_t child = ::fork();
  if (child == 0) {
    auto db = open();
    auto done = db->begin();
    done->put(Table::kObjects, "k1", "committed-by-child");
    auto open_txn = db->begin();
    open_txn->put(Table::kObjects, "committed", "changed");
    open_txn->put(Table::kObjects, "k2", "uncommitted");
    done->commit();
    ::_exit(0);  // no destructors: the journal keeps open_txn's before-images
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_GT(std::filesystem::file_size(dir_ + "/odb.log"), 0u);
  db_ = open();
  EXPECT_EQ(db_->recovery().rolled_back.size(), 1u);
  EXPECT_EQ(db_->recovery().records_restored, 2u);
  EXPECT_EQ(value("committed"), "yes");
  EXPECT_EQ(value("k1"), "committed-by-child");
  EXPECT_FALSE(value("k2"));
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/odb.log"), 0u);
}

// The journal grows ahead of its records with posix_fallocate; when the file cannot grow (here a
// file size limit, as a full disk would), the change fails with an error naming odb.log, the
// transaction stays usable, and nothing reaches the database.
TEST_F(TransactionTest, AJournalThatCannotGrowFailsTheChangeNamingTheFile) {
  const std::string big(3u << 20, 'b');
  {
    auto t = db_->begin();
    t->put(Table::kObjects, "big", big);
    t->commit();
  }
  db_.reset();
  pid_t child = ::fork();
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{2u << 20, 2u << 20};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(10);
    auto db = open();
    auto t = db->begin();
    t->put(Table::kObjects, "small", "s");  // a small before-image: fits
    try {
      t->put(Table::kObjects, "big", "replaced");  // a 3 MiB before-image: cannot
      ::_exit(11);
    } catch (const DbError& e) {
      if (std::string(e.what()).find("odb.log") == std::string::npos) ::_exit(12);
    }
    if (t->get(Table::kObjects, "big") != big) ::_exit(13);  // the change was not recorded
    t->put(Table::kObjects, "other", "o");                   // and the transaction goes on
    t->abort();
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  db_ = open();
  EXPECT_EQ(value("big"), big);
  EXPECT_FALSE(value("small"));
  EXPECT_FALSE(value("other"));
}

TEST_F(TransactionTest, CorruptJournalStopsTheOpenAndIsKept) {
  db_.reset();
  std::string bad = JournalRecord{.type = JournalRecord::Type::kBeforeImage, .top = 1, .txn = 1,
                                  .table = 2, .key = "k", .before = "v"}
                        .encode();
  bad[15] ^= 1;
  bad += JournalRecord{.type = JournalRecord::Type::kCommit, .top = 1, .txn = 1}.encode();
  {
    FILE* f = std::fopen((dir_ + "/odb.log").c_str(), "wb");
    std::fwrite(bad.data(), 1, bad.size(), f);
    std::fclose(f);
  }
  EXPECT_THROW(open(), JournalCorrupt);
  EXPECT_EQ(std::filesystem::file_size(dir_ + "/odb.log"), bad.size());
}

}  // namespace
}  // namespace openoserv::db
