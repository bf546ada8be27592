// Database core: records round-trip, ownership is exclusive, bad records are refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "Database.h"

namespace openoserv::db {
namespace {

class DatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("openoserv-dbtest-" + std::to_string(::getpid()) + "-" +
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

TEST_F(DatabaseTest, MetaAndOdlistSurviveReopen) {
  {
    auto db = create();
    db->put_od({.od = 1, .port = 94, .ip = "9.3.187.134", .hostnames = {"brown", "b"},
                .force_bind = true});
    db->put_od({.od = 2, .port = 94, .ip = "9.3.187.136", .hostnames = {"black"},
                .force_bind = false});
  }
  auto db = Database::open(dir_, {.sync = false, .owner_id = "t"});
  EXPECT_EQ(db->region(), 1669180253u);
  EXPECT_EQ(db->dispatcher(), 1u);
  auto list = db->odlist();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].od, 1u);
  EXPECT_EQ(list[0].hostnames, (std::vector<std::string>{"brown", "b"}));
  EXPECT_TRUE(list[0].force_bind);
  EXPECT_EQ(list[1].ip, "9.3.187.136");
  EXPECT_FALSE(db->od(3));
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

TEST(OdRecord, EncodeDecodeRoundTrip) {
  OdRecord r{.od = 7, .port = 9494, .ip = "127.0.0.2", .hostnames = {"a", "b"},
             .force_bind = true};
  auto back = OdRecord::decode(7, r.encode());
  EXPECT_EQ(back.port, 9494);
  EXPECT_EQ(back.ip, "127.0.0.2");
  EXPECT_EQ(back.hostnames, r.hostnames);
  EXPECT_TRUE(back.force_bind);
}

TEST(OdRecord, CorruptRecordsAreRefused) {
  EXPECT_THROW(OdRecord::decode(1, ""), DbError);
  EXPECT_THROW(OdRecord::decode(1, "port=94\n"), DbError);
  EXPECT_THROW(OdRecord::decode(1, "port=abc\nip=1.2.3.4\n"), DbError);
  EXPECT_THROW(OdRecord::decode(1, "port=94\nip=1.2.3.4\nbogus\n"), DbError);
}

}  // namespace
}  // namespace openoserv::db
