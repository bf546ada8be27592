// Whole-file reads and crash-safe whole-file writes, shared by every component that keeps a
// small text file (instances file, registry export, scripts, pid files).
#pragma once

#include <optional>
#include <string>

namespace openoserv {

// The file's contents, or nullopt when it does not exist. Other errors throw std::runtime_error
// naming the file and the system error.
std::optional<std::string> read_text_file(const std::string& path);

// Writes `text` to a temporary file beside `path`, fsyncs it, renames it over `path` and fsyncs
// the directory: readers see the old or the new file, never a torn one. The file gets exactly
// `mode`, whatever the umask.
void write_file_atomically(const std::string& path, const std::string& text, unsigned mode = 0644);

// mkdir -p with a clear error naming the directory. Directories it creates get exactly `mode`,
// whatever the umask; existing ones are left as they are.
void make_directories(const std::string& path, unsigned mode = 0755);

}  // namespace openoserv
