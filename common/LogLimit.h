// A limit on log lines of one kind, so that a peer hammering a port or an operation cannot flood
// a log (and fill its disk) with one line per connection or call: bursts of up to `burst` lines,
// and `per_second` on average. What is left out is counted, and the next line let in says how
// many. Thread-safe.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/core.h>

namespace openoserv {

class LogLimit {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogLimit(int per_second = 5, int burst = 200)
      : interval_(std::chrono::duration_cast<Clock::duration>(std::chrono::seconds(1)) / per_second),
        tolerance_(interval_ * (burst - 1)) {}

  // -1: leave this line out; otherwise how many lines were left out since the last one let in.
  long admit() { return admit(Clock::now()); }
  long admit(Clock::time_point now) {  // the same, at `now`
    std::lock_guard lock(mutex_);
    // The bucket as the time at which it would be empty again (the generic cell rate
    // algorithm): a line fits while that is at most `tolerance_` ahead of now.
    const Clock::time_point empty_at = std::max(empty_at_, now);
    if (empty_at - now > tolerance_) {
      ++left_out_;
      return -1;
    }
    empty_at_ = empty_at + interval_;
    return std::exchange(left_out_, 0);
  }

  // Gives `line` to `sink` (a callable taking a std::string) when admitted, followed by
  // " [and N more KIND, left out of this log]" when some were.
  template <typename Sink>
  void write(Sink&& sink, const std::string& line, std::string_view kind,
             Clock::time_point now = Clock::now()) {
    const long left_out = admit(now);
    if (left_out < 0) return;
    if (left_out == 0) return sink(line);
    sink(fmt::format("{} [and {} more {}, left out of this log]", line, left_out, kind));
  }

 private:
  const Clock::duration interval_;   // between lines at the steady rate
  const Clock::duration tolerance_;  // how far ahead of the rate a burst may go
  std::mutex mutex_;                 // guards the members below
  Clock::time_point empty_at_{};
  long left_out_ = 0;
};

}  // namespace openoserv
