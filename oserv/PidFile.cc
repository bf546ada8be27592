// Pid file with flock: the lock, not the pid, says whether the instance runs.
#include "PidFile.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

#include "TextFile.h"

namespace openoserv {

// An oserv that fails to start, or stops, leaves no pid file: only a crash does (status 1).
PidFile::~PidFile() { remove(); }

PidFile::Acquire PidFile::acquire() {
  // A stopping oserv unlinks the file before it unlocks; if we locked a file that was unlinked
  // meanwhile, our lock protects nothing, so lock again on the new file.
  for (;;) {
    UniqueFd fd(::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd)
      throw std::runtime_error(fmt::format("cannot open pid file {}: {}", path_, std::strerror(errno)));
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err == EWOULDBLOCK) return Acquire::kHeld;
      throw std::runtime_error(fmt::format("cannot lock pid file {}: {}", path_, std::strerror(err)));
    }
    struct stat by_fd {}, by_path {};
    if (::fstat(fd.get(), &by_fd) == 0 && ::stat(path_.c_str(), &by_path) == 0 &&
        by_fd.st_ino == by_path.st_ino && by_fd.st_dev == by_path.st_dev) {
      fd_ = std::move(fd);
      return Acquire::kAcquired;
    }
  }
}

void PidFile::write_pid() {
  const std::string text = fmt::format("{}\n", ::getpid());
  if (::ftruncate(fd_.get(), 0) != 0 ||
      ::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    throw std::runtime_error(fmt::format("cannot write pid file {}: {}", path_, std::strerror(errno)));
}

void PidFile::remove() {
  if (!fd_) return;
  ::unlink(path_.c_str());
  fd_.reset();
}

std::optional<pid_t> PidFile::read_pid(const std::string& path) {
  auto text = read_text_file(path);
  if (!text) return std::nullopt;
  try {
    size_t used = 0;
    long pid = std::stol(*text, &used);
    if (pid > 0) return static_cast<pid_t>(pid);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

}  // namespace openoserv
