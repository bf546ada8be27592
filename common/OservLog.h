// The oserv log: `YYYY/MM/DD HH:MM:SS +ZZ: message` lines appended to $DBDIR/oservlog and, while
// the process has a terminal or runs in the foreground, mirrored to stderr.
#pragma once

#include <ctime>
#include <mutex>
#include <string>
#include <vector>

#include <fmt/core.h>

#include "UniqueFd.h"

namespace openoserv {

class OservLog {
 public:
  // Opens (appends to) `path`; throws std::runtime_error naming it on failure.
  void open(const std::string& path);
  void reopen();  // after log rotation (SIGHUP); reopens the companion too
  // A log rotated with this one (the audit log beside the oservlog).
  void set_companion(OservLog* other) { companion_ = other; }
  void set_mirror_stderr(bool on) { mirror_ = on; }

  // One timestamped line.
  void line(const std::string& message);
  template <typename... Args>
  void operator()(fmt::format_string<Args...> f, Args&&... args) {
    line(fmt::format(f, std::forward<Args>(args)...));
  }
  // Text written as is (the banner's continuation lines carry no timestamp, as in Tivoli).
  void raw(const std::string& text);

  // The last `lines` lines of the log file (those of its last 64 KB). Throws std::runtime_error
  // naming the file when it cannot be read.
  std::vector<std::string> tail(std::size_t lines) const;

  // The timestamp prefix for now, e.g. "2026/11/24 22:31:46 +00".
  static std::string timestamp();
  static std::string timestamp(std::time_t when);  // the same for another time

 private:
  mutable std::mutex mu_;  // guards the members below
  std::string path_;
  UniqueFd fd_;
  bool mirror_ = true;
  OservLog* companion_ = nullptr;
};

}  // namespace openoserv
