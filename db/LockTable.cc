// Lock table.
#include "LockTable.h"

#include <fmt/core.h>

namespace openoserv::db {

bool LockTable::grantable(const Lock& lock, std::uint64_t owner, LockMode mode) const {
  if (lock.holders.empty()) return true;
  const bool only_me = lock.holders.size() == 1 && lock.holders.count(owner);
  if (only_me) return true;  // re-entry or upgrade
  return mode == LockMode::kRead && lock.mode == LockMode::kRead;
}

void LockTable::acquire(std::uint64_t owner, const std::string& resource, LockMode mode,
                        std::chrono::milliseconds timeout,
                        const std::function<std::string(std::uint64_t)>& describe) {
  std::unique_lock guard(mu_);
  Lock& lock = locks_[resource];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!grantable(lock, owner, mode)) {
    lock.waiters.insert(owner);
    const bool granted = changed_.wait_until(guard, deadline, [&] {
      return grantable(lock, owner, mode);
    });
    lock.waiters.erase(owner);
    if (!granted) {
      std::string holders;
      for (auto h : lock.holders)
        if (h != owner) holders += (holders.empty() ? "" : ", ") + describe(h);
      const std::string message = fmt::format(
          "lock wait timed out after {} ms: {} wanted a {} lock on {}, held ({}) by transaction {}",
          timeout.count(), describe(owner), mode == LockMode::kWrite ? "write" : "read", resource,
          lock.mode == LockMode::kWrite ? "write" : "read", holders);
      if (lock.holders.empty() && lock.waiters.empty()) locks_.erase(resource);
      throw LockTimeout(message);
    }
  }
  if (mode == LockMode::kWrite || lock.holders.empty()) lock.mode = mode;
  lock.holders.insert(owner);
  owned_[owner].insert(resource);
}

void LockTable::release_all(std::uint64_t owner) {
  std::lock_guard guard(mu_);
  auto it = owned_.find(owner);
  if (it == owned_.end()) return;
  for (const auto& resource : it->second) {
    auto l = locks_.find(resource);
    if (l == locks_.end()) continue;
    l->second.holders.erase(owner);
    if (l->second.holders.empty() && l->second.waiters.empty()) locks_.erase(l);
  }
  owned_.erase(it);
  changed_.notify_all();
}

std::vector<LockInfo> LockTable::snapshot() {
  std::lock_guard guard(mu_);
  std::vector<LockInfo> out;
  for (const auto& [resource, lock] : locks_) {
    if (lock.holders.empty()) continue;
    out.push_back({resource, lock.mode, {lock.holders.begin(), lock.holders.end()},
                   {lock.waiters.begin(), lock.waiters.end()}});
  }
  return out;
}

}  // namespace openoserv::db
