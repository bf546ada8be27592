// Object locks owned by top-level transactions: shared (read) or exclusive (write), with
// upgrade, and a bounded wait that ends in LockTimeout naming the holder. There is no deadlock
// detector: the timeout is what guarantees no wait lasts forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "Database.h"

namespace openoserv::db {

class LockTimeout : public DbError {
 public:
  using DbError::DbError;
};

struct LockInfo {
  std::string resource;  // "<table>/<key>"
  LockMode mode;
  std::vector<std::uint64_t> holders;
  std::vector<std::uint64_t> waiters;
};

class LockTable {
 public:
  // Blocks until `owner` holds `resource` in `mode` (or stronger), or throws LockTimeout after
  // `timeout`. `describe` renders a transaction id for the message.
  void acquire(std::uint64_t owner, std::string resource, LockMode mode,
               std::chrono::milliseconds timeout,
               const std::function<std::string(std::uint64_t)>& describe);
  void release_all(std::uint64_t owner);
  // The held locks, by resource.
  std::vector<LockInfo> snapshot();

 private:
  // On every change's path, so: hashed, holders in a vector (there is usually one), and each
  // owner's list pointing at its entries (unordered_map entries never move).
  struct Lock {
    LockMode mode = LockMode::kRead;
    std::vector<std::uint64_t> holders;
    std::vector<std::uint64_t> waiters;
  };
  using Entry = std::pair<const std::string, Lock>;
  static bool holds(const Lock& lock, std::uint64_t owner);
  bool grantable(const Lock& lock, std::uint64_t owner, LockMode mode) const;
  void drop_if_unused(Entry* entry);

  std::mutex mu_;
  std::condition_variable changed_;
  std::unordered_map<std::string, Lock> locks_;
  std::unordered_map<std::uint64_t, std::vector<Entry*>> owned_;
};

}  // namespace openoserv::db
