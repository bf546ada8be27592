// Whole-file reads and atomic writes.
#include "TextFile.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <fmt/core.h>

#include "UniqueFd.h"

namespace openoserv {

namespace {

std::runtime_error sys_error(const std::string& what, const std::string& path, int err = errno) {
  return std::runtime_error(fmt::format("{} {}: {}", what, path, std::strerror(err)));
}

// Removes the temporary file unless the write completed.
struct TempFile {
  std::string path;
  bool keep = false;
  ~TempFile() {
    if (!keep) ::unlink(path.c_str());
  }
};

}  // namespace

std::optional<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw sys_error("cannot read", path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw sys_error("cannot read", path);
  return ss.str();
}

void write_file_atomically(const std::string& path, const std::string& text, unsigned mode) {
  TempFile tmp{path + ".tmp." + std::to_string(::getpid())};
  UniqueFd fd(::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd) throw sys_error("cannot create", tmp.path);
  const char* p = text.data();
  size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw sys_error("cannot write", tmp.path);
    p += n;
    left -= static_cast<size_t>(n);
  }
  // The mode given to open() is filtered by the umask: set it exactly.
  if (::fchmod(fd.get(), mode) != 0 || ::fsync(fd.get()) != 0)
    throw sys_error("cannot sync", tmp.path);
  fd.reset();
  if (::rename(tmp.path.c_str(), path.c_str()) != 0)
    throw sys_error("cannot rename into place", path);
  tmp.keep = true;
  const std::string dir = std::filesystem::path(path).parent_path().string();
  UniqueFd dfd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
}

void make_directories(const std::string& path, unsigned mode) {
  std::filesystem::path partial;
  for (const auto& part : std::filesystem::path(path).lexically_normal()) {
    partial /= part;
    if (part.empty() || part == "/") continue;
    if (::mkdir(partial.c_str(), 0700) == 0) {
      if (::chmod(partial.c_str(), mode) != 0) throw sys_error("cannot set the mode of", partial);
    } else if (errno != EEXIST) {
      throw sys_error("cannot create directory", partial.string());
    } else if (!std::filesystem::is_directory(partial)) {
      throw std::runtime_error(
          fmt::format("cannot create directory {}: {} exists and is not a directory", path,
                      partial.string()));
    }
  }
}

}  // namespace openoserv
