// Lock table.
#include "LockTable.h"

#include <algorithm>

#include <fmt/core.h>

namespace openoserv::db {

bool LockTable::holds(const Lock& lock, std::uint64_t owner) {
  return std::find(lock.holders.begin(), lock.holders.end(), owner) != lock.holders.end();
}

bool LockTable::grantable(const Lock& lock, std::uint64_t owner, LockMode mode) const {
  if (lock.holders.empty()) return true;
  if (lock.holders.size() == 1 && lock.holders.front() == owner) return true;  // re-entry, upgrade
  return mode == LockMode::kRead && lock.mode == LockMode::kRead;
}

void LockTable::drop_if_unused(Entry* entry) {
  if (entry->second.holders.empty() && entry->second.waiters.empty())
    locks_.erase(locks_.find(entry->first));
}

void LockTable::acquire(std::uint64_t owner, std::string resource, LockMode mode,
                        std::chrono::milliseconds timeout,
                        const std::function<std::string(std::uint64_t)>& describe) {
  std::unique_lock guard(mu_);
  Entry* entry = &*locks_.try_emplace(std::move(resource)).first;
  Lock& lock = entry->second;
  if (!grantable(lock, owner, mode)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    lock.waiters.push_back(owner);
    const bool granted =
        changed_.wait_until(guard, deadline, [&] { return grantable(lock, owner, mode); });
    lock.waiters.erase(std::find(lock.waiters.begin(), lock.waiters.end(), owner));
    if (!granted) {
      std::string holders;
      for (auto h : lock.holders) {
        if (h == owner) continue;
        if (!holders.empty()) holders += ", ";
        holders += describe(h);
      }
      const std::string message = fmt::format(
          "lock wait timed out after {} ms: {} wanted a {} lock on {}, held ({}) by transaction {}",
          timeout.count(), describe(owner), mode == LockMode::kWrite ? "write" : "read",
          entry->first, lock.mode == LockMode::kWrite ? "write" : "read", holders);
      drop_if_unused(entry);
      throw LockTimeout(message);
    }
  }
  if (mode == LockMode::kWrite || lock.holders.empty()) lock.mode = mode;
  if (!holds(lock, owner)) {
    lock.holders.push_back(owner);
    owned_[owner].push_back(entry);
  }
}

void LockTable::release_all(std::uint64_t owner) {
  std::lock_guard guard(mu_);
  auto it = owned_.find(owner);
  if (it == owned_.end()) return;
  for (Entry* entry : it->second) {
    auto& holders = entry->second.holders;
    holders.erase(std::find(holders.begin(), holders.end(), owner));
    drop_if_unused(entry);
  }
  owned_.erase(it);
  changed_.notify_all();
}

std::vector<LockInfo> LockTable::snapshot() {
  std::vector<LockInfo> out;
  {
    std::lock_guard guard(mu_);
    for (const auto& [resource, lock] : locks_)
      if (!lock.holders.empty())
        out.push_back({resource, lock.mode, lock.holders, lock.waiters});
  }
  std::sort(out.begin(), out.end(),
            [](const LockInfo& a, const LockInfo& b) { return a.resource < b.resource; });
  for (auto& l : out) {
    std::sort(l.holders.begin(), l.holders.end());
    std::sort(l.waiters.begin(), l.waiters.end());
  }
  return out;
}

}  // namespace openoserv::db
