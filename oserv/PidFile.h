// The pid file `<etc-root>/run/<ID>.pid`, which is also the instance's run lock.
//
// The running oserv holds an exclusive flock on it for its whole life, so "is it running?" has an
// exact answer that survives kill -9 (the kernel drops the lock with the process): lock held =
// running; file present but unlocked = dead; no file = stopped (the LSB status codes 0, 1, 3).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "UniqueFd.h"

namespace openoserv {

class PidFile {
 public:
  enum class Acquire { kAcquired, kHeld };

  explicit PidFile(std::string path) : path_(std::move(path)) {}
  ~PidFile();  // removes the file if we hold it
  PidFile(const PidFile&) = delete;
  PidFile& operator=(const PidFile&) = delete;

  // Takes the lock without waiting. kHeld means another live process holds it. Throws
  // std::runtime_error naming the file on other errors.
  Acquire acquire();
  // Records our pid (after a fork, the daemon's own).
  void write_pid();
  // Removes the file while still holding the lock (clean stop), then releases it.
  void remove();

  const std::string& path() const { return path_; }
  // The pid recorded in the file, if it holds one.
  static std::optional<pid_t> read_pid(const std::string& path);

 private:
  std::string path_;
  UniqueFd fd_;
};

}  // namespace openoserv
