// Log file writing with the Tivoli timestamp format.
#include "OservLog.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace openoserv {

std::string OservLog::timestamp() { return timestamp(std::time(nullptr)); }

std::string OservLog::timestamp(std::time_t when) {
  std::tm tm{};
  ::localtime_r(&when, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y/%m/%d %H:%M:%S", &tm);
  long off = tm.tm_gmtoff;
  char sign = off < 0 ? '-' : '+';
  off = off < 0 ? -off : off;
  if (off % 3600 == 0) return fmt::format("{} {}{:02}", buf, sign, off / 3600);
  return fmt::format("{} {}{:02}{:02}", buf, sign, off / 3600, (off % 3600) / 60);
}

void OservLog::open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!fd)
    throw std::runtime_error(fmt::format("cannot open log {}: {}", path, std::strerror(errno)));
  std::lock_guard lock(mu_);
  fd_ = std::move(fd);
  path_ = path;
}

void OservLog::reopen() {
  if (!path_.empty()) open(path_);
  if (companion_) companion_->reopen();
}

void OservLog::raw(const std::string& text) {
  std::lock_guard lock(mu_);
  // One write() per record keeps concurrent lines whole in an O_APPEND file.
  if (fd_ && ::write(fd_.get(), text.data(), text.size()) < 0) {
    // Nowhere better to report a failing log; stderr still gets the line below.
  }
  if (mirror_ && ::write(STDERR_FILENO, text.data(), text.size()) < 0) {
  }
}

std::vector<std::string> OservLog::tail(std::size_t lines) const {
  constexpr off_t kWindow = 64 * 1024;
  std::string path;
  {
    std::lock_guard lock(mu_);
    path = path_;
  }
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  const off_t size = fd ? ::lseek(fd.get(), 0, SEEK_END) : -1;
  if (size < 0) throw std::runtime_error(fmt::format("cannot read log {}: {}", path, std::strerror(errno)));
  const off_t from = size > kWindow ? size - kWindow : 0;
  std::string text(static_cast<std::size_t>(size - from), '\0');
  const ssize_t got = ::pread(fd.get(), text.data(), text.size(), from);
  if (got < 0) throw std::runtime_error(fmt::format("cannot read log {}: {}", path, std::strerror(errno)));
  text.resize(static_cast<std::size_t>(got));
  // A window that starts inside a line drops that part line.
  if (from > 0) text.erase(0, std::min(text.size(), text.find('\n') + 1));
  std::vector<std::string> all;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    all.emplace_back(text, at, end - at);
    at = end + 1;
  }
  if (all.size() > lines) all.erase(all.begin(), all.end() - static_cast<std::ptrdiff_t>(lines));
  return all;
}

void OservLog::line(const std::string& message) { raw(timestamp() + ": " + message + "\n"); }

}  // namespace openoserv
