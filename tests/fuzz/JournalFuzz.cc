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
    // What was read, encoded again (in the current format: first-format records change their
    // marker and checksum), must read back as exactly the same records, and nothing else.
    std::string again;
    for (const auto& r : scan.records) again += r.encode();
    auto rescan = openoserv::db::scan_journal(again, "fuzz");
    if (rescan.torn_tail || rescan.valid_bytes != again.size() ||
        rescan.records.size() != scan.records.size())
      __builtin_trap();
    for (std::size_t i = 0; i < scan.records.size(); ++i) {
      const auto &a = scan.records[i], &b = rescan.records[i];
      if (a.type != b.type || a.top != b.top || a.txn != b.txn || a.table != b.table ||
          a.key != b.key || a.before != b.before)
        __builtin_trap();
    }
  } catch (const openoserv::db::JournalCorrupt&) {
  }
  return 0;
}
