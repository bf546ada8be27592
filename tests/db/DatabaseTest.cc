// Database core: meta survives reopening, prefix scans, generations, exclusive ownership.
#include <gtest/gtest.h>
#include <fmt/core.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "Database.h"

namespace openoserv::db {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           fmt::format("openoserv-dbtest-{}-{}", ::getpid(),
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::unique_ptr<Database> create() {
    auto db = Database::open(dir_, {.create = true, .sync = false, .owner_id = "t"});
    db->put_meta(kMetaRegion, "1669180253");
    db->put_meta(kMetaDispatcher, "1");
    return db;
  }
  std::string dir_;
};

TEST_F(DatabaseTest, MetaSurvivesReopen) {
  create();
  auto db = Database::open(dir_, {.sync = false, .owner_id = "t"});
  EXPECT_EQ(db->region(), 1669180253u);
  EXPECT_EQ(db->dispatcher(), 1u);
}

TEST_F(DatabaseTest, PrefixScansReturnExactlyTheMatchesInOrder) {
  auto db = create();
  auto t = db->begin();
  for (const char* key : {"ManagedNode/black", "ManagedNode/black.itsc", "ManagedNode/brown",
                          "ManagedNodeX/a", "Manag", "TaskLibrary/x"})
    t->put(Table::kNames, key, "v");
  t->commit();
  auto keys = [&](std::string_view prefix) {
    std::vector<std::string> out;
    for (const auto& [k, v] : db->scan_prefix(Table::kNames, prefix)) out.push_back(k);
    return out;
  };
  EXPECT_EQ(keys("ManagedNode/"), (std::vector<std::string>{"ManagedNode/black",
                                                            "ManagedNode/black.itsc",
                                                            "ManagedNode/brown"}));
  EXPECT_EQ(keys("ManagedNode/black."), (std::vector<std::string>{"ManagedNode/black.itsc"}));
  EXPECT_TRUE(keys("Zzz").empty());
  EXPECT_EQ(keys("").size(), 6u);
}

TEST_F(DatabaseTest, GenerationsCountCommitsThatChangeTheirTable) {
  auto db = create();
  const auto names = db->generation(Table::kNames), odlist = db->generation(Table::kOdlist);
  auto t = db->begin();
  t->put(Table::kNames, "a/b", "c");
  EXPECT_EQ(db->generation(Table::kNames), names) << "not before the commit";
  t->commit();
  EXPECT_EQ(db->generation(Table::kNames), names + 1);
  EXPECT_EQ(db->generation(Table::kOdlist), odlist);
}

TEST_F(DatabaseTest, AJournalThatCannotBeEmptiedIsReportedNotFatal) {
  if (::geteuid() != 0) GTEST_SKIP() << "making odb.log append-only (chattr +a) needs root";
  auto db = Database::open(dir_, {.create = true, .sync = false, .owner_id = "t",
                                  .journal_idle = std::chrono::milliseconds(10)});
  db->put_meta(kMetaRegion, "1669180253");
  db->put_meta(kMetaDispatcher, "1");
  const std::string journal = dir_ + "/odb.log";
  auto t = db->begin();
  t->put(Table::kObjects, "k", "v");
  if (std::system(("chattr +a " + journal + " 2>/dev/null").c_str()) != 0)
    GTEST_SKIP() << "this filesystem has no append-only attribute";
  t->commit();
  auto poll = [](auto done) {
    for (int i = 0; i < 300 && !done(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  };
  EXPECT_TRUE(poll([&] { return !db->purge_error().empty(); })) << "the failed purge is not reported";
  EXPECT_NE(db->purge_error().find("odb.log"), std::string::npos) << db->purge_error();
  EXPECT_GT(db->journal_size(), 0u);
  EXPECT_EQ(std::system(("chattr -a " + journal).c_str()), 0);
  EXPECT_TRUE(poll([&] { return db->journal_size() == 0 && db->purge_error().empty(); }))
      << "the purge did not retry: " << db->purge_error();
}

TEST_F(DatabaseTest, TableNamesParse) {
  EXPECT_EQ(table_from_name("odlist"), Table::kOdlist);
  EXPECT_EQ(table_from_name("names"), Table::kNames);
  EXPECT_EQ(table_from_name("bogus"), std::nullopt);
}

TEST_F(DatabaseTest, SecondOpenerIsRefusedNamingTheOwner) {
  auto db = create();
  try {
    Database::open(dir_, {.sync = false, .owner_id = "other"});
    FAIL();
  } catch (const DbInUse& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("instance t"), std::string::npos) << m;
    EXPECT_NE(m.find(std::to_string(::getpid())), std::string::npos) << m;
  }
  db.reset();
  EXPECT_NO_THROW(Database::open(dir_, {.sync = false, .owner_id = "other"}));
}

TEST_F(DatabaseTest, MissingDatabaseIsAClearError) {
  EXPECT_THROW(Database::open(dir_, {.sync = false}), DbError);
  std::filesystem::create_directories(dir_);
  try {
    Database::open(dir_, {.sync = false});
    FAIL();
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("oinstall"), std::string::npos) << e.what();
  }
}

TEST_F(DatabaseTest, UninitialisedDatabaseIsRefused) {
  Database::open(dir_, {.create = true, .sync = false});
  EXPECT_THROW(Database::open(dir_, {.sync = false}), DbError);
}

}  // namespace
}  // namespace openoserv::db
