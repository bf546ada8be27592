// Instances file and registry export parsing: good input, and malformed input naming file:line.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>

#include "InstanceTable.h"

namespace openoserv {
namespace {

// Expects parsing to fail with a message containing every one of `parts`.
template <typename Parse>
void expect_error(Parse parse, std::initializer_list<std::string> parts) {
  try {
    parse();
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos)
        << "message '" << e.what() << "' lacks '" << p << "'";
  }
}

TEST(InstancesFile, ParsesAllFieldsAndEmptyOnes) {
  auto t = InstanceTable::parse_instances_file(
      "# comment\n"
      "\n"
      "oserv:/var/db/a.db:/etc/Tivoli/oserv:94:black\n"
      "oserv1:/var/db/b.db:::\n",
      "instances");
  ASSERT_EQ(t.entries().size(), 2u);
  const auto* a = t.find("oserv");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(*a->dbdir, "/var/db/a.db");
  EXPECT_EQ(*a->etcdir, "/etc/Tivoli/oserv");
  EXPECT_EQ(*a->port, 94);
  EXPECT_EQ(*a->hostname, "black");
  EXPECT_EQ(a->origin, "instances:3");
  const auto* b = t.find("oserv1");
  ASSERT_NE(b, nullptr);
  EXPECT_FALSE(b->etcdir);
  EXPECT_FALSE(b->port);
  EXPECT_FALSE(b->hostname);
  EXPECT_EQ(t.find("oserv2"), nullptr);
}

TEST(InstancesFile, EmptyDbdirIsAllowedUntilResolution) {
  auto t = InstanceTable::parse_instances_file("oserv::::\n", "f");
  ASSERT_NE(t.find("oserv"), nullptr);
  EXPECT_FALSE(t.find("oserv")->dbdir);
}

TEST(InstancesFile, MalformedLinesNameFileAndLine) {
  auto parse = [](const std::string& text) {
    return [text] { InstanceTable::parse_instances_file(text, "/etc/Tivoli/instances"); };
  };
  expect_error(parse("# ok\noserv:/db:/etc:94:h:extra\n"), {"/etc/Tivoli/instances:2"});
  expect_error(parse("oserv:/db:/etc:99999:h\n"), {"instances:1", "99999"});
  expect_error(parse("oserv:/db:/etc:0:h\n"), {"instances:1"});
  expect_error(parse("oserv:/db:/etc:9x4:h\n"), {"instances:1"});
  expect_error(parse("oserv:relative/db:::\n"), {"instances:1"});
  expect_error(parse("bad id:/db:::\n"), {"instances:1"});
  expect_error(parse(":/db:::\n"), {"instances:1"});
  expect_error(parse("oserv:/a:::\noserv:/b:::\n"), {"instances:2", "line 1"});
}

TEST(InstancesFile, TrailingFieldsMayBeMissing) {
  // The seed: "Values may be missing".
  auto t = InstanceTable::parse_instances_file("a:/db/a\nb:/db/b:/etc/b\nc:/db/c::9494\nd\n", "f");
  EXPECT_EQ(*t.find("a")->dbdir, "/db/a");
  EXPECT_FALSE(t.find("a")->etcdir);
  EXPECT_EQ(*t.find("b")->etcdir, "/etc/b");
  EXPECT_EQ(*t.find("c")->port, 9494);
  EXPECT_FALSE(t.find("d")->dbdir);
}

TEST(InstancesFile, OverlongLinesAndNulBytesAreRefusedBriefly) {
  const std::string huge = "oserv:/" + std::string(10 << 20, 'x') + ":::\n";
  try {
    InstanceTable::parse_instances_file("# first\n" + huge, "instances");
    FAIL() << "a 10 MB line was accepted";
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("instances:2"), std::string::npos) << m;
    EXPECT_LT(m.size(), 300u) << "the message must not echo the line";
  }
  expect_error([] { InstanceTable::parse_instances_file(std::string("oserv:/db\0:::\n", 14), "f"); },
               {"f", "NUL"});
  expect_error([] { InstanceTable::parse_instances_file("oserv:/caf\xe9:::\n", "f"); },
               {"f", "UTF-8"});
}

TEST(InstancesFile, NextFreeIdFollowsTheSequence) {
  EXPECT_EQ(InstanceTable::parse_instances_file("", "f").next_free_id(), "oserv");
  EXPECT_EQ(InstanceTable::parse_instances_file("oserv:/a:::\n", "f").next_free_id(), "oserv1");
  EXPECT_EQ(
      InstanceTable::parse_instances_file("oserv:/a:::\noserv1:/b:::\noserv3:/c:::\n", "f")
          .next_free_id(),
      "oserv2");
}

TEST(InstancesFile, FormatRoundTrips) {
  InstanceEntry e;
  e.id = "oserv2";
  e.dbdir = "/db";
  e.port = 9494;
  std::string line = InstanceTable::format_instances_line(e);
  EXPECT_EQ(line, "oserv2:/db::9494:\n");
  auto t = InstanceTable::parse_instances_file(line, "f");
  EXPECT_EQ(*t.find("oserv2")->port, 9494);
}

const char* kRegistry =
    "Windows Registry Editor Version 5.00\r\n"
    "\r\n"
    "; exported\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\oserv\\Parameters]\r\n"
    "\"dbdir\"=\"/var/db/a.db\"\r\n"
    "\"hostname\"=\"black\"\r\n"
    "\"port\"=dword:0000005e\r\n"
    "\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Other\\Enum]\r\n"
    "\"x\"=\"y\"\r\n"
    "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\oserv1\\Parameters]\r\n"
    "\"dbdir\"=\"/var/db/b.db\"\r\n"
    "\"etcdir\"=\"/etc/Tivoli/b\"\r\n";

TEST(Registry, ParsesParametersKeys) {
  auto t = InstanceTable::parse_registry(kRegistry, "inst.reg");
  ASSERT_EQ(t.entries().size(), 2u);
  EXPECT_EQ(*t.find("oserv")->port, 94);
  EXPECT_EQ(*t.find("oserv")->hostname, "black");
  EXPECT_EQ(*t.find("oserv1")->etcdir, "/etc/Tivoli/b");
  EXPECT_EQ(t.find("Other"), nullptr);
}

TEST(Registry, AcceptsUtf16WithBom) {
  std::string utf8 = kRegistry;
  std::string utf16 = "\xff\xfe";
  for (char c : utf8) {
    utf16 += c;
    utf16 += '\0';
  }
  auto t = InstanceTable::parse_registry(utf16, "inst.reg");
  EXPECT_EQ(*t.find("oserv")->dbdir, "/var/db/a.db");
}

std::string utf16(const std::string& ascii, bool big_endian, bool mark) {
  std::string out = !mark ? "" : big_endian ? "\xfe\xff" : "\xff\xfe";
  for (char c : ascii) {
    if (big_endian) out += '\0';
    out += c;
    if (!big_endian) out += '\0';
  }
  return out;
}

TEST(Registry, AcceptsUtf16OfEitherByteOrderWithOrWithoutMark) {
  for (bool big : {false, true})
    for (bool mark : {false, true}) {
      auto t = InstanceTable::parse_registry(utf16(kRegistry, big, mark), "inst.reg");
      ASSERT_NE(t.find("oserv1"), nullptr) << "big-endian " << big << " mark " << mark;
      EXPECT_EQ(*t.find("oserv1")->etcdir, "/etc/Tivoli/b");
    }
}

TEST(Registry, DamagedUtf16IsRefusedWithTheReason) {
  std::string odd = utf16(kRegistry, false, true);
  odd.pop_back();
  expect_error([&] { InstanceTable::parse_registry(odd, "inst.reg"); }, {"inst.reg", "odd"});
  std::string lone = utf16(kRegistry, false, true) + std::string("\x00\xd8", 2);  // a lone surrogate
  expect_error([&] { InstanceTable::parse_registry(lone, "inst.reg"); },
               {"inst.reg", "invalid UTF-16LE"});
}

TEST(Registry, RewritesKeepTheFilesEncoding) {
  const std::string path = ::testing::TempDir() + "/encoding_kept.reg";
  for (bool big : {false, true}) {
    {
      std::ofstream(path, std::ios::binary) << utf16(kRegistry, big, true);
    }
    auto t = InstanceTable::load(path, InstanceTable::Format::kRegistry);
    t.add_and_save({.id = "added", .dbdir = "/db/added"});
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), {});
    EXPECT_EQ(bytes.substr(0, 2), big ? "\xfe\xff" : "\xff\xfe");
    auto again = InstanceTable::load(path, InstanceTable::Format::kRegistry);
    EXPECT_EQ(*again.find("added")->dbdir, "/db/added");
    EXPECT_EQ(*again.find("oserv")->dbdir, "/var/db/a.db");
    again.remove_and_save("added");
    EXPECT_EQ(InstanceTable::load(path, InstanceTable::Format::kRegistry).find("added"), nullptr);
  }
}

TEST(Registry, MalformedValuesNameFileAndLine) {
  const std::string head =
      "Windows Registry Editor Version 5.00\n"
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\oserv\\Parameters]\n";
  auto parse = [](const std::string& text) {
    return [text] { InstanceTable::parse_registry(text, "inst.reg"); };
  };
  expect_error(parse(head + "\"port\"=dword:00000000\n"), {"inst.reg:3", "port"});
  expect_error(parse(head + "\"port\"=dword:zz\n"), {"inst.reg:3"});
  expect_error(parse(head + "\"dbdir\"=dword:00000001\n"), {"inst.reg:3", "dbdir"});
  expect_error(parse(head + "\"dbdir\"=\"/unterminated\n"), {"inst.reg:3"});
  expect_error(parse(head + "garbage\n"), {"inst.reg:3"});
  expect_error(parse("not a registry file\n"), {"inst.reg:1"});
}

}  // namespace
// Edits wait for each other (another program holding the lock: here another thread), re-read
// the file, and keep what was added meanwhile; a thread holding the lock edits under it.
TEST(InstancesFile, EditsUnderTheLockKeepEachOthersEntries) {
  const std::string path = ::testing::TempDir() + "/locked_instances";
  std::remove(path.c_str());
  InstanceTable stale = InstanceTable::load(path, InstanceTable::Format::kInstancesFile);
  std::atomic<bool> second_in{false};
  std::thread other;
  {
    const InstanceTable::EditLock held(path);
    InstanceTable::load(path, InstanceTable::Format::kInstancesFile)
        .add_and_save({.id = "first", .dbdir = "/db/a"});  // under its own thread's lock
    other = std::thread([&] {
      const InstanceTable::EditLock mine(path);
      second_in = true;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(second_in) << "another holder got in while the lock was held";
  }
  other.join();
  EXPECT_TRUE(second_in);
  stale.add_and_save({.id = "second", .dbdir = "/db/b"});  // loaded before "first" was added
  const auto now = InstanceTable::load(path, InstanceTable::Format::kInstancesFile);
  EXPECT_NE(now.find("first"), nullptr);
  EXPECT_NE(now.find("second"), nullptr);
  EXPECT_THROW(stale.add_and_save({.id = "first", .dbdir = "/db/c"}), ConfigError);
}

}  // namespace openoserv
