// Stored records: every record kind the domain writes round-trips, damaged bytes are refused with
// an error (never a crash), the text records of earlier builds are still read and upgraded. No
// ORB is initialised in this test: the domain must not need one. (Typed attributes, which do,
// are tested in tests/oserv/AttributeRecordsTest.cc.)
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "Database.h"
#include "Failure.h"
#include "Odlist.h"
#include "Records.h"

namespace openoserv {
namespace {

TEST(Records, StringAttributesRoundTrip) {
  EXPECT_EQ(records::decode_string(records::encode_string("echo hi café")), "echo hi café");
  EXPECT_EQ(records::decode_string(records::encode_string("")), "");
  // An attribute holding a long (type code kind tk_long = 3) is not a string.
  std::string long_attr(8, '\0');
  long_attr[0] = 1;
  const unsigned char cdr[] = {3, 0, 0, 0, 42, 0, 0, 0};
  long_attr.append(reinterpret_cast<const char*>(cdr), sizeof cdr);
  EXPECT_EQ(records::decode_string(long_attr), std::nullopt);
  const std::string good = records::encode_string("a task script");
  EXPECT_THROW(records::decode_string(good.substr(0, good.size() - 2)), Failure);
  EXPECT_THROW(records::decode_string(good + "x"), Failure);
  EXPECT_THROW(records::decode_string("short"), Failure);
}

TEST(Records, OdRecordsRoundTrip) {
  const OdRecord r{.od = 7, .port = 9494, .ip = "127.0.0.2", .hostnames = {"a", "b.example"},
                   .force_bind = true};
  const std::string bytes = records::encode_od(r);
  EXPECT_EQ(bytes[0], static_cast<char>(omni::myByteOrder));
  EXPECT_EQ(bytes[1], 1) << "layout version";
  EXPECT_EQ(records::decode_od(7, bytes), r);
  // A record stored under another dispatcher's key is damage, not that dispatcher.
  EXPECT_THROW(records::decode_od(8, bytes), Failure);
}

TEST(Records, DamagedOdRecordsAreRefusedNamingTheDispatcher) {
  const std::string good = records::encode_od({.od = 3, .port = 94, .ip = "10.0.0.3"});
  try {
    records::decode_od(3, good.substr(0, good.size() - 3));
    FAIL() << "a truncated record was accepted";
  } catch (const Failure& e) {
    EXPECT_NE(std::string(e.what()).find("dispatcher 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(records::decode_od(3, ""), Failure);
  std::string other_version = good;
  other_version[1] = 9;
  EXPECT_THROW(records::decode_od(3, other_version), Failure);
}

TEST(Records, EqualRecordsHaveEqualBytes) {
  // CDR alignment padding is zeros, not whatever the buffer held.
  const std::vector<MethodDef> methods = {{"a", "/x"}, {"bcd", "/yz"}, {"efghi", "/"}};
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(records::encode_class(methods), records::encode_class(methods));
  const std::string bytes = records::encode_od({.od = 1, .port = 94, .ip = "1.2.3.4", .hostnames = {"a"}});
  for (int i = 0; i < 50; ++i)
    ASSERT_EQ(records::encode_od({.od = 1, .port = 94, .ip = "1.2.3.4", .hostnames = {"a"}}), bytes);
}

TEST(Records, ClassRecordsRoundTrip) {
  const std::vector<MethodDef> methods = {{"nap", "/opt/nap.sh"}, {"fail", "/opt/fail"}};
  EXPECT_EQ(records::decode_class("Sleeper", records::encode_class(methods)), methods);
  EXPECT_TRUE(records::decode_class("Empty", records::encode_class({})).empty());
}

TEST(Records, TextRecordsOfEarlierBuildsAreRead) {
  const OdRecord r = records::decode_od(2, "port=94\nip=9.3.187.136\nhosts=black,b\nforce_bind=1\n");
  EXPECT_EQ(r, (OdRecord{.od = 2, .port = 94, .ip = "9.3.187.136", .hostnames = {"black", "b"},
                         .force_bind = true}));
  EXPECT_THROW(records::decode_od(1, "port=94\n"), Failure);
  EXPECT_THROW(records::decode_od(1, "port=abc\nip=1.2.3.4\n"), Failure);
  EXPECT_THROW(records::decode_od(1, "port=94\nip=1.2.3.4\nbogus\n"), Failure);
  EXPECT_EQ(records::decode_class("C", "nap\t/opt/nap.sh\n"),
            (std::vector<MethodDef>{{"nap", "/opt/nap.sh"}}));
}

TEST(Records, UpgradeRewritesTextRecordsInCdr) {
  const std::string dir = ::testing::TempDir() + "/records_upgrade";
  std::filesystem::remove_all(dir);
  auto db = db::Database::open(dir, {.create = true, .sync = false, .owner_id = "test"});
  {
    auto txn = db->begin();
    txn->put(db::Table::kOdlist, odlist::key(1), "port=94\nip=127.0.0.2\nhosts=tmr\nforce_bind=0\n");
    txn->put(db::Table::kClasses, "Sleeper", "nap\t/opt/nap.sh\n");
    txn->commit();
  }
  EXPECT_EQ(records::upgrade_records(*db), 2u);
  EXPECT_EQ(records::upgrade_records(*db), 0u) << "already CDR";
  const auto stored = db->read(db::Table::kOdlist, odlist::key(1));
  ASSERT_TRUE(stored);
  EXPECT_EQ((*stored)[1], 1) << "rewritten in layout 1";
  EXPECT_EQ(odlist::load(*db),
            (std::vector<OdRecord>{{.od = 1, .port = 94, .ip = "127.0.0.2", .hostnames = {"tmr"}}}));
}

}  // namespace
}  // namespace openoserv
