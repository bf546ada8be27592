// Object locks owned by top-level transactions: shared (read) or exclusive (write), with
// upgrade, and a bounded wait that ends in LockTimeout naming the holder. There is no deadlock
// detector: the timeout is what guarantees no wait lasts forever.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "Database.h"

namespace openoserv::db {

class LockTimeout : public DbError {
 public:
  using DbError::DbError;
};

enum class LockMode { kRead, kWrite };

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
  void acquire(std::uint64_t owner, const std::string& resource, LockMode mode,
               std::chrono::milliseconds timeout,
               const std::function<std::string(std::uint64_t)>& describe);
  void release_all(std::uint64_t owner);
  std::vector<LockInfo> snapshot();

 private:
  struct Lock {
    LockMode mode = LockMode::kRead;
    std::set<std::uint64_t> holders;
    std::set<std::uint64_t> waiters;
  };
  bool grantable(const Lock& lock, std::uint64_t owner, LockMode mode) const;

  std::mutex mu_;
  std::condition_variable changed_;
  std::map<std::string, Lock> locks_;
  std::map<std::uint64_t, std::set<std::string>> owned_;
};

}  // namespace openoserv::db
