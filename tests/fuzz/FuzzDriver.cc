// Runs a libFuzzer-style target without libFuzzer: valid journals mutated at random (bit flips,
// cuts, splices, garbage), a fixed seed so failures reproduce, ROUNDS from argv[1].
#include <cstdint>
#include <cstdlib>
#include <string>

#include <boost/crc.hpp>
#include <fmt/core.h>

#include "Mutations.h"
#include "RollbackJournal.h"


int main(int argc, char** argv) {
  using namespace openoserv::db;
  const long rounds = argc > 1 ? std::atol(argv[1]) : 200000;
  std::string seed;
  for (int i = 0; i < 6; ++i) {
    JournalRecord r{.type = JournalRecord::Type::kBeforeImage, .top = static_cast<std::uint64_t>(1 + i % 2), .txn = 7,
                    .table = static_cast<std::uint8_t>(i % 6), .key = fmt::format("key{}", i),
                    .before = i % 3 ? std::optional<std::string>(std::string(i * 40, 'v'))
                                    : std::nullopt};
    seed += r.encode();
  }
  seed += JournalRecord{.type = JournalRecord::Type::kCommit, .top = 1, .txn = 1}.encode();
  // And one record of the first format (marker "ODBL", CRC-32), which is still read.
  std::string old = JournalRecord{.type = JournalRecord::Type::kBeforeImage, .top = 3, .txn = 3,
                                  .table = 2, .key = "old", .before = std::string("v1")}
                        .encode();
  boost::crc_32_type crc;
  crc.process_bytes(old.data() + 12, old.size() - 12);
  for (int i = 0; i < 4; ++i) {
    old[i] = static_cast<char>(0x4C42444Fu >> (8 * i));
    old[8 + i] = static_cast<char>(crc.checksum() >> (8 * i));
  }
  seed += old;
  openoserv::fuzz::run_mutations(seed, rounds, 20261124);
  return 0;
}
