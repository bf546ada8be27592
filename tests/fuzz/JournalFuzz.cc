// Fuzz target over the odb.log reader. With clang (-DOPENOSERV_FUZZ=ON) it is a libFuzzer target;
// otherwise tests/fuzz/FuzzDriver.cc runs it over a seeded random corpus under ctest. Either way
// the reader must return records or throw JournalCorrupt, and never crash or read out of bounds.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "RollbackJournal.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    auto scan = openoserv::db::scan_journal(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    // Re-encoding what was read must give back exactly the bytes it came from.
    std::string again;
    for (const auto& r : scan.records) again += r.encode();
    if (again != std::string_view(reinterpret_cast<const char*>(data), scan.valid_bytes))
      __builtin_trap();
  } catch (const openoserv::db::JournalCorrupt&) {
  }
  return 0;
}
