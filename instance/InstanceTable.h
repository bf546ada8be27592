// The table of oserv instances on this machine: the Unix instances file
// (`<etc-root>/instances`, lines `ID:DBDIR:ETCDIR:PORT:HOSTNAME`) or a Windows registry export
// (`HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\<ID>\Parameters`).
//
// Parsing is strict: any malformed line or value throws ConfigError naming file and line, because
// a half-understood configuration would start an oserv on the wrong database or port. Lines are
// at most 4096 bytes and NUL bytes are refused. Registry exports may be UTF-8 or UTF-16 of either
// byte order (with or without a byte-order mark); a rewrite keeps the file's encoding.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "TextEncoding.h"
#include "UniqueFd.h"

namespace openoserv {

// A configuration problem the operator must fix; what() names the file and line.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One instance's stored parameters. An absent field takes its default at resolution time.
struct InstanceEntry {
  std::string id;
  std::optional<std::string> dbdir;
  std::optional<std::string> etcdir;
  std::optional<std::uint16_t> port;
  std::optional<std::string> hostname;
  std::string origin;  // "file:line" where it was defined, for messages
};

// True for IDs usable as file and socket names: [A-Za-z0-9_.-]+, not starting with '.' or '-'.
bool is_valid_instance_id(const std::string& id);

class InstanceTable {
 public:
  enum class Format { kInstancesFile, kRegistry };

  // Parses text; `path` is used in messages only.
  static InstanceTable parse_instances_file(const std::string& text, const std::string& path);
  static InstanceTable parse_registry(const std::string& text, const std::string& path);

  // Reads the file at `path`. A missing file is an empty table (nothing installed yet).
  static InstanceTable load(const std::string& path, Format format);

  const InstanceEntry* find(const std::string& id) const;
  const std::vector<InstanceEntry>& entries() const { return entries_; }
  std::vector<std::string> ids() const;
  const std::string& path() const { return path_; }
  Format format() const { return format_; }

  // The first free ID of the sequence oserv, oserv1, oserv2, ...
  std::string next_free_id() const;

  // Adds an entry (its ID must be new) and rewrites the file atomically (temp file + rename),
  // keeping every existing line, comments included, byte for byte. Both edits hold an
  // EditLock and read the file again first, so edits made meanwhile by others are kept.
  void add_and_save(const InstanceEntry& entry);
  // Removes the entry of `id` (its line, or its registry key) and rewrites the file atomically,
  // keeping everything else byte for byte. Throws ConfigError if there is no such entry.
  void remove_and_save(const std::string& id);

  // Held while a program reads the table, decides and writes it back (oinstall, from choosing an
  // ID to registering it): other programs editing it wait. An flock on PATH.lock beside it (the
  // table is replaced by a rename, so it cannot carry the lock itself). add_and_save and
  // remove_and_save take one themselves; a thread holding one already is not stopped by its
  // own. Throws ConfigError naming the lock file when it cannot be opened or locked.
  class EditLock {
   public:
    explicit EditLock(const std::string& path);
    ~EditLock();
    EditLock(const EditLock&) = delete;
    EditLock& operator=(const EditLock&) = delete;

   private:
    std::string path_;
    UniqueFd fd_;  // none: this thread held the lock already; closing it releases the flock
  };

  // Renders one entry in this table's format.
  static std::string format_instances_line(const InstanceEntry& e);
  static std::string format_registry_key(const InstanceEntry& e);

 private:
  std::string path_;
  Format format_ = Format::kInstancesFile;
  // Rewrites the file with `utf8` in the encoding it was read in, then parses it again.
  void save(const std::string& utf8);

  EncodedText text_;  // the file as read: its text and its encoding
  std::vector<InstanceEntry> entries_;
};

}  // namespace openoserv
