// odb.log encoding and scanning: round trips, torn tails ignored, corruption before the end
// refused with file and offset, and a brute-force sweep over damaged journals.
#include <gtest/gtest.h>
#include <fmt/core.h>

#include <boost/crc.hpp>
#include <random>

#include "RollbackJournal.h"

namespace openoserv::db {
namespace {

JournalRecord before_image(std::uint64_t top, std::string key, std::optional<std::string> v) {
  return {.type = JournalRecord::Type::kBeforeImage, .top = top, .txn = top + 100,
          .table = static_cast<std::uint8_t>(Table::kObjects), .key = std::move(key),
          .before = std::move(v)};
}

std::string sample_journal() {
  return before_image(1, "a", "old-a").encode() + before_image(1, "b", std::nullopt).encode() +
         JournalRecord{.type = JournalRecord::Type::kCommit, .top = 1, .txn = 1}.encode() +
         before_image(2, "c", std::string(1000, 'x')).encode();
}

TEST(Journal, RoundTrip) {
  auto scan = scan_journal(sample_journal(), "odb.log");
  ASSERT_EQ(scan.records.size(), 4u);
  EXPECT_FALSE(scan.torn_tail);
  EXPECT_EQ(scan.records[0].key, "a");
  EXPECT_EQ(*scan.records[0].before, "old-a");
  EXPECT_EQ(scan.records[0].txn, 101u);
  EXPECT_FALSE(scan.records[1].before);
  EXPECT_EQ(scan.records[2].type, JournalRecord::Type::kCommit);
  EXPECT_EQ(scan.records[3].before->size(), 1000u);
}

TEST(Journal, EveryTruncationIsATornTail) {
  const std::string full = sample_journal();
  for (size_t n = 0; n < full.size(); ++n) {
    auto scan = scan_journal(std::string_view(full).substr(0, n), "odb.log");
    EXPECT_LE(scan.valid_bytes, n);
    EXPECT_EQ(scan.torn_tail, scan.valid_bytes != n) << n;
  }
}

TEST(Journal, ZeroFilledTailIsTheEnd) {
  // The file is grown ahead of its records: zeros after the last one are not damage.
  auto scan = scan_journal(sample_journal() + std::string(4096, '\0'), "odb.log");
  EXPECT_EQ(scan.records.size(), 4u);
  EXPECT_FALSE(scan.torn_tail);
  EXPECT_EQ(scan.valid_bytes, sample_journal().size());
  EXPECT_TRUE(scan_journal(std::string(8192, '\0'), "odb.log").records.empty());
}

// Appending copies a record into the mapped file; a crash mid-copy can leave any subset of its
// bytes written, with zeros around them. Each such state is a torn tail, never corruption.
TEST(Journal, PartlyCopiedLastRecordAmongZerosIsTorn) {
  const std::string head = sample_journal();
  const std::string last = before_image(3, "dd", std::string(200, 'y')).encode();
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    std::string part(last.size(), '\0');
    const size_t from = rng() % last.size(), to = from + rng() % (last.size() - from);
    for (size_t i = from; i < to; ++i) part[i] = last[i];  // one contiguous run of the copy
    auto scan = scan_journal(head + part + std::string(rng() % 5000, '\0'), "odb.log");
    EXPECT_EQ(scan.records.size(), 4u) << from << ".." << to;
    EXPECT_EQ(scan.valid_bytes, head.size());
  }
}

// The payload is copied first and the header after it, field by field. Whichever header fields
// a crash leaves written (in the writer's order - length and checksum, then the marker - or in
// the order older writers used: marker, length, checksum), with the payload written, cut short
// or not yet there, the record is a torn tail. (CI caught the marker-without-length state as
// "corruption", so that the database would not open after a kill -9.)
TEST(Journal, EveryHeaderFieldSubsetOverAnyPayloadIsTorn) {
  const std::string head = sample_journal();
  const std::string last = before_image(3, "dd", std::string(200, 'y')).encode();
  const size_t fields[][2] = {{0, 4}, {4, 8}, {8, 12}};
  for (size_t payload : {size_t{0}, size_t{1}, (last.size() - 12) / 2, last.size() - 12}) {
    for (unsigned mask = 0; mask < 7; ++mask) {  // 7 = all three: the intact record
      std::string part(last.size(), '\0');
      for (size_t i = 12; i < 12 + payload; ++i) part[i] = last[i];
      for (unsigned f = 0; f < 3; ++f)
        if (mask & (1u << f))
          for (size_t i = fields[f][0]; i < fields[f][1]; ++i) part[i] = last[i];
      auto scan = scan_journal(head + part + std::string(300, '\0'), "odb.log");
      EXPECT_EQ(scan.records.size(), 4u) << payload << " " << mask;
      EXPECT_EQ(scan.valid_bytes, head.size());
    }
  }
}

TEST(Journal, DamageFollowedByAnIntactRecordIsCorruption) {
  const std::string tail = before_image(3, "z", "v").encode();
  std::string j = sample_journal() + std::string(100, '\x5a') + tail;
  EXPECT_THROW(scan_journal(j, "odb.log"), JournalCorrupt);
}

// Bytes no append can leave (no record marker where the next record would start, or bytes past
// the end of the record being appended) are a damaged journal, not a torn tail: they are refused,
// never taken for the end of the journal and erased.
TEST(Journal, GarbageIsRefusedNotTakenForATornTail) {
  const std::string text = "this is not a journal at all\n";
  EXPECT_THROW(scan_journal(text, "odb.log"), JournalCorrupt);
  EXPECT_THROW(scan_journal(sample_journal() + std::string(100, '\x5a'), "odb.log"),
               JournalCorrupt);
  std::string past_end = before_image(3, "dd", "v").encode();
  past_end.resize(past_end.size() - 2);  // cut short: torn...
  EXPECT_TRUE(scan_journal(sample_journal() + past_end, "odb.log").torn_tail);
  past_end += std::string(10, '\0') + "x";  // ...but not with a byte written past its end
  EXPECT_THROW(scan_journal(sample_journal() + past_end, "odb.log"), JournalCorrupt);
  std::mt19937 rng(99);
  for (int round = 0; round < 1000; ++round) {
    std::string noise(1 + rng() % 4096, '\0');
    for (auto& c : noise) c = static_cast<char>(rng());
    if (noise[0] == '\0' || noise[0] == 'O') noise[0] = 'x';
    EXPECT_THROW(scan_journal(sample_journal() + noise, "odb.log"), JournalCorrupt) << round;
  }
}

TEST(Journal, Crc32cIsTheCastagnoliChecksum) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);  // the standard check value
  EXPECT_EQ(crc32c(""), 0u);
  // Every length through the word-at-a-time path and its byte tail, against the bitwise
  // definition.
  std::string data;
  for (int n = 0; n < 100; ++n) {
    std::uint32_t crc = 0xFFFFFFFFu;
    for (unsigned char c : data) {
      crc ^= c;
      for (int b = 0; b < 8; ++b) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    EXPECT_EQ(crc32c(data), ~crc) << n;
    data += static_cast<char>(n * 37 + 11);
  }
}

// Journals written before CRC-32C (magic "ODBL", CRC-32) are still read, so a database left by
// a crash of an earlier build recovers.
TEST(Journal, FirstFormatIsStillRead) {
  std::string old = before_image(1, "a", "old-a").encode();
  const std::string_view payload = std::string_view(old).substr(12);
  boost::crc_32_type crc;
  crc.process_bytes(payload.data(), payload.size());
  const std::uint32_t magic = 0x4C42444F, sum = crc.checksum();
  for (int i = 0; i < 4; ++i) {
    old[i] = static_cast<char>(magic >> (8 * i));
    old[8 + i] = static_cast<char>(sum >> (8 * i));
  }
  auto scan = scan_journal(old, "odb.log");
  ASSERT_EQ(scan.records.size(), 1u);
  EXPECT_EQ(*scan.records[0].before, "old-a");
}

TEST(Journal, DamageInTheLastRecordIsTorn) {
  std::string j = sample_journal();
  j[j.size() - 10] ^= 0x55;
  auto scan = scan_journal(j, "odb.log");
  EXPECT_EQ(scan.records.size(), 3u);
  EXPECT_TRUE(scan.torn_tail);
}

TEST(Journal, DamageBeforeTheEndIsCorruptionNamingFileAndOffset) {
  std::string j = sample_journal();
  const size_t second = before_image(1, "a", "old-a").encode().size();
  j[second + 14] ^= 0x01;  // inside the second record's payload
  try {
    scan_journal(j, "/db/odb.log");
    FAIL();
  } catch (const JournalCorrupt& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("/db/odb.log"), std::string::npos) << m;
    EXPECT_NE(m.find(fmt::format("offset {}", second)), std::string::npos) << m;
  }
}

// Fuzz-style sweep: random damage of every kind must end in a clean scan or JournalCorrupt,
// never a crash, and a clean scan never yields a record that was not written.
TEST(Journal, RandomDamageNeverCrashesOrInventsRecords) {
  const std::string full = sample_journal();
  auto original = scan_journal(full, "odb.log").records;
  std::mt19937 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    std::string j = full;
    switch (rng() % 4) {
      case 0:  // flip bits
        for (int i = 0, n = 1 + rng() % 4; i < n; ++i) j[rng() % j.size()] ^= 1 << (rng() % 8);
        break;
      case 1:  // cut
        j.resize(rng() % j.size());
        break;
      case 2:  // overwrite a run with garbage
        for (size_t p = rng() % j.size(), n = 1 + rng() % 32; n-- && p < j.size(); ++p)
          j[p] = static_cast<char>(rng());
        break;
      case 3:  // append garbage
        for (int n = 1 + rng() % 64; n--;) j += static_cast<char>(rng());
        break;
    }
    try {
      auto scan = scan_journal(j, "odb.log");
      ASSERT_LE(scan.records.size(), original.size());
      for (size_t i = 0; i < scan.records.size(); ++i) {
        EXPECT_EQ(scan.records[i].key, original[i].key);
        EXPECT_EQ(scan.records[i].before, original[i].before);
        EXPECT_EQ(scan.records[i].top, original[i].top);
      }
    } catch (const JournalCorrupt&) {
    }
  }
}

}  // namespace
}  // namespace openoserv::db
