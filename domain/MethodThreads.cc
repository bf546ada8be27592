// Method thread registry.
#include "MethodThreads.h"

#include "Database.h"

namespace openoserv {

MethodThreads::Scope::Scope(MethodThreads& threads, std::string oid, std::string method,
                            std::string state, bool resident)
    : threads_(threads) {
  std::lock_guard guard(threads.mu_);
  id_ = threads.next_id_++;
  threads.threads_[id_] =
      Entry{Info{id_, std::move(state), {}, std::move(oid), std::move(method), 0, resident},
            std::chrono::system_clock::now()};
}

MethodThreads::Scope::~Scope() {
  std::lock_guard guard(threads_.mu_);
  threads_.threads_.erase(id_);
}

void MethodThreads::Scope::set_pid(pid_t pid) {
  std::lock_guard guard(threads_.mu_);
  threads_.threads_[id_].info.pid = pid;
}

std::vector<MethodThreads::Info> MethodThreads::list() {
  std::lock_guard guard(mu_);
  std::vector<Info> out;
  for (const auto& [id, entry] : threads_) {
    out.push_back(entry.info);
    out.back().started = db::format_time(entry.started);
  }
  return out;
}

std::vector<std::pair<MethodThreads::Info, long>> MethodThreads::older_than(
    std::chrono::seconds limit) {
  std::lock_guard guard(mu_);
  const auto now = std::chrono::system_clock::now();
  std::vector<std::pair<Info, long>> out;
  for (const auto& [id, entry] : threads_) {
    const auto age = std::chrono::duration_cast<std::chrono::seconds>(now - entry.started);
    if (age > limit && !entry.info.resident) {
      out.emplace_back(entry.info, static_cast<long>(age.count()));
      out.back().first.started = db::format_time(entry.started);
    }
  }
  return out;
}

}  // namespace openoserv
