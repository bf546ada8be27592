// Parsing and writing of the instances file and of registry exports.
#include "InstanceTable.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/core.h>

#include "Numbers.h"
#include "TextEncoding.h"
#include "TextFile.h"
#include "UniqueFd.h"

namespace openoserv {

namespace {

constexpr const char* kServicesKey = "hkey_local_machine\\system\\currentcontrolset\\services\\";
constexpr const char* kRegistryHeader = "Windows Registry Editor Version 5.00";
// No line of either format is longer than a few paths; a longer one is not a configuration.
constexpr size_t kMaxLine = 4096;
// Messages quote at most this much of a line.
constexpr size_t kQuoted = 80;

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

std::string quoted(const std::string& line) {
  return line.size() <= kQuoted ? line : line.substr(0, kQuoted) + "...";
}

[[noreturn]] void fail(const std::string& path, size_t line, const std::string& what) {
  throw ConfigError(fmt::format("{}:{}: {}", path, line, what));
}

std::vector<std::string> split_lines(const std::string& text, const std::string& path) {
  std::vector<std::string> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t nl = std::min(text.find('\n', start), text.size());
    if (nl - start > kMaxLine)
      fail(path, lines.size() + 1,
           fmt::format("the line is {} bytes long, more than the {} a line may have", nl - start,
                       kMaxLine));
    std::string line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  auto port = parse_number<std::uint16_t>(text);
  if (!port || *port == 0) return std::nullopt;
  return port;
}

bool is_valid_hostname(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  return std::all_of(h.begin(), h.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

// Checks one entry's stored parameters; `line` locates it for the message.
void check_entry_values(const InstanceEntry& e, const std::string& path, size_t line) {
  for (const auto* dir : {&e.dbdir, &e.etcdir}) {
    if (*dir && (*dir)->front() != '/')
      fail(path, line,
           fmt::format("instance {}: directory '{}' must be an absolute path", e.id, **dir));
  }
  if (e.hostname && !is_valid_hostname(*e.hostname))
    fail(path, line, fmt::format("instance {}: '{}' is not a valid host name", e.id,
                                 quoted(*e.hostname)));
}

// One line of the instances file: ID[:DBDIR[:ETCDIR[:PORT[:HOSTNAME]]]].
InstanceEntry parse_instances_line(const std::string& line, const std::string& path,
                                   size_t lineno) {
  std::vector<std::string> fields;
  for (size_t start = 0;;) {
    const size_t colon = line.find(':', start);
    fields.push_back(line.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  if (fields.size() > 5)
    fail(path, lineno,
         fmt::format("expected ID:DBDIR:ETCDIR:PORT:HOSTNAME (at most 5 fields), found {} in "
                     "'{}'",
                     fields.size(), quoted(line)));
  fields.resize(5);  // the seed: values may be missing
  InstanceEntry e;
  e.id = fields[0];
  if (!is_valid_instance_id(e.id))
    fail(path, lineno, fmt::format("'{}' is not a valid instance ID (letters, digits, '_', '.', "
                                   "'-')",
                                   quoted(e.id)));
  if (!fields[1].empty()) e.dbdir = fields[1];
  if (!fields[2].empty()) e.etcdir = fields[2];
  if (!fields[3].empty() && !(e.port = parse_port(fields[3])))
    fail(path, lineno, fmt::format("instance {}: port '{}' is not a number from 1 to 65535", e.id,
                                   quoted(fields[3])));
  if (!fields[4].empty()) e.hostname = fields[4];
  check_entry_values(e, path, lineno);
  e.origin = fmt::format("{}:{}", path, lineno);
  return e;
}

// --- Registry exports -----------------------------------------------------------------------

// A registry value as written in a .reg file.
struct RegValue {
  enum Kind { kString, kDword, kOther, kDelete } kind;
  std::string text;
  std::uint32_t dword = 0;
};

// Parses a quoted string starting at s[pos] == '"'; returns it unescaped, pos after the quote.
std::optional<std::string> parse_reg_string(const std::string& s, size_t& pos) {
  std::string out;
  for (++pos; pos < s.size(); ++pos) {
    char c = s[pos];
    if (c == '\\') {
      if (++pos >= s.size()) return std::nullopt;
      out += s[pos];
    } else if (c == '"') {
      ++pos;
      return out;
    } else {
      out += c;
    }
  }
  return std::nullopt;
}

std::optional<RegValue> parse_reg_value(const std::string& v) {
  if (v == "-") return RegValue{RegValue::kDelete, {}};
  if (!v.empty() && v[0] == '"') {
    size_t pos = 0;
    auto str = parse_reg_string(v, pos);
    if (!str || trim(v.substr(pos)) != "") return std::nullopt;
    return RegValue{RegValue::kString, *str};
  }
  const std::string lv = lower(v);
  if (lv.rfind("dword:", 0) == 0) {
    const auto value = v.size() == 14 ? parse_number<std::uint32_t>(v.substr(6), 16) : std::nullopt;
    if (!value) return std::nullopt;
    RegValue r{RegValue::kDword, {}};
    r.dword = *value;
    return r;
  }
  if (lv.rfind("hex:", 0) == 0 || lv.rfind("hex(", 0) == 0) {
    const size_t colon = v.find(':');
    for (char c : v.substr(colon + 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ',' && c != ' ')
        return std::nullopt;
    return RegValue{RegValue::kOther, v};
  }
  return std::nullopt;
}

std::string escape_reg_string(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out;
}

// The instance ID a key line names, if it is a ...\Services\<ID>\Parameters key.
std::optional<std::string> parameters_key_id(const std::string& line, const std::string& path,
                                             size_t lineno) {
  if (line.back() != ']') fail(path, lineno, "key line must end with ']'");
  const std::string key = line.substr(1, line.size() - 2);
  if (!key.empty() && key[0] == '-') return std::nullopt;  // key deletion: nothing to read
  const std::string lkey = lower(key);
  const std::string prefix = kServicesKey, suffix = "\\parameters";
  if (lkey.rfind(prefix, 0) != 0 || lkey.size() <= prefix.size() + suffix.size() ||
      lkey.compare(lkey.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  std::string id = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
  if (id.find('\\') != std::string::npos) return std::nullopt;  // a deeper key
  if (!is_valid_instance_id(id))
    fail(path, lineno, fmt::format("'{}' is not a valid instance ID", quoted(id)));
  return id;
}

// A value line: "name"=value or @=value. Returns the lower-case name ("" for @) and the value.
std::pair<std::string, RegValue> parse_value_line(const std::string& line, const std::string& path,
                                                  size_t lineno) {
  std::string name;
  size_t pos = 0;
  if (line[0] == '@') {
    pos = 1;
  } else if (line[0] == '"') {
    auto n = parse_reg_string(line, pos);
    if (!n) fail(path, lineno, "unterminated value name");
    name = lower(*n);
  } else {
    fail(path, lineno, fmt::format("expected a [key], a \"name\"=value line or a comment: '{}'",
                                   quoted(line)));
  }
  if (pos >= line.size() || line[pos] != '=') fail(path, lineno, "expected '=' after the name");
  const std::string text = trim(line.substr(pos + 1));
  auto value = parse_reg_value(text);
  if (!value) fail(path, lineno, fmt::format("malformed value '{}'", quoted(text)));
  return {name, *value};
}

// Sets entry field `name` (dbdir, etcdir, hostname, port) from `value`; other names are ignored.
void apply_value(InstanceEntry& e, const std::string& name, const RegValue& value,
                 const std::string& path, size_t lineno) {
  if (name == "dbdir" || name == "etcdir" || name == "hostname") {
    auto& field = name == "dbdir" ? e.dbdir : name == "etcdir" ? e.etcdir : e.hostname;
    if (value.kind == RegValue::kDelete || (value.kind == RegValue::kString && value.text.empty()))
      field.reset();
    else if (value.kind != RegValue::kString)
      fail(path, lineno, fmt::format("value '{}' must be a string", name));
    else
      field = value.text;
  } else if (name == "port") {
    if (value.kind == RegValue::kDelete) {
      e.port.reset();
    } else if (value.kind == RegValue::kDword) {
      if (value.dword == 0 || value.dword > 65535)
        fail(path, lineno, fmt::format("port {} is not from 1 to 65535", value.dword));
      e.port = static_cast<std::uint16_t>(value.dword);
    } else if (value.kind == RegValue::kString) {
      if (!(e.port = parse_port(value.text)))
        fail(path, lineno,
             fmt::format("port '{}' is not a number from 1 to 65535", quoted(value.text)));
    } else {
      fail(path, lineno, "value 'port' must be a dword");
    }
  }
}

}  // namespace

bool is_valid_instance_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

InstanceTable InstanceTable::parse_instances_file(const std::string& bytes,
                                                  const std::string& path) {
  InstanceTable table;
  table.path_ = path;
  table.format_ = Format::kInstancesFile;
  table.text_ = decode_text(bytes, path, false);
  std::map<std::string, size_t> seen;
  const auto lines = split_lines(table.text_.utf8, path);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string line = trim(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    InstanceEntry e = parse_instances_line(line, path, i + 1);
    if (auto [it, fresh] = seen.emplace(e.id, i + 1); !fresh)
      fail(path, i + 1, fmt::format("instance {} is already defined at line {}", e.id, it->second));
    table.entries_.push_back(std::move(e));
  }
  return table;
}

InstanceTable InstanceTable::parse_registry(const std::string& bytes, const std::string& path) {
  InstanceTable table;
  table.path_ = path;
  table.format_ = Format::kRegistry;
  table.text_ = decode_text(bytes, path, true);
  const auto lines = split_lines(table.text_.utf8, path);
  size_t first = 0;
  while (first < lines.size() && trim(lines[first]).empty()) ++first;
  if (first == lines.size()) return table;  // an empty file holds no instances
  const std::string header = trim(lines[first]);
  if (header != kRegistryHeader && header != "REGEDIT4")
    fail(path, first + 1,
         fmt::format("not a registry export: expected '{}' as the first line", kRegistryHeader));
  std::map<std::string, size_t> index;  // lower-case ID -> entries_ position
  InstanceEntry* current = nullptr;     // the Parameters key being read, if any
  size_t current_line = 0;
  for (size_t i = first + 1; i < lines.size(); ++i) {
    const size_t lineno = i + 1;
    std::string line = trim(lines[i]);
    // A value may continue on following lines with a trailing backslash (long hex values).
    while (!line.empty() && line.back() == '\\' && i + 1 < lines.size()) {
      line.pop_back();
      line += trim(lines[++i]);
    }
    if (line.empty() || line[0] == ';') continue;
    if (line[0] == '[') {
      current = nullptr;
      const auto id = parameters_key_id(line, path, lineno);
      if (!id) continue;
      auto [it, fresh] = index.emplace(lower(*id), table.entries_.size());
      if (fresh) table.entries_.push_back({.id = *id, .origin = fmt::format("{}:{}", path, lineno)});
      current = &table.entries_[it->second];
      current_line = lineno;
      continue;
    }
    const auto [name, value] = parse_value_line(line, path, lineno);
    if (!current) continue;
    apply_value(*current, name, value, path, lineno);
    check_entry_values(*current, path, current_line);
  }
  return table;
}

InstanceTable InstanceTable::load(const std::string& path, Format format) {
  std::optional<std::string> bytes;
  try {
    bytes = read_text_file(path);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  if (!bytes) {
    InstanceTable empty;
    empty.path_ = path;
    empty.format_ = format;
    return empty;
  }
  return format == Format::kRegistry ? parse_registry(*bytes, path)
                                     : parse_instances_file(*bytes, path);
}

const InstanceEntry* InstanceTable::find(const std::string& id) const {
  // Registry key names are case-insensitive on Windows; the instances file is exact.
  for (const auto& e : entries_) {
    if (format_ == Format::kRegistry ? lower(e.id) == lower(id) : e.id == id) return &e;
  }
  return nullptr;
}

std::vector<std::string> InstanceTable::ids() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e.id);
  return out;
}

std::string InstanceTable::next_free_id() const {
  if (!find("oserv")) return "oserv";
  for (int n = 1;; ++n) {
    std::string id = fmt::format("oserv{}", n);
    if (!find(id)) return id;
  }
}

std::string InstanceTable::format_instances_line(const InstanceEntry& e) {
  return fmt::format("{}:{}:{}:{}:{}\n", e.id, e.dbdir.value_or(""), e.etcdir.value_or(""),
                     e.port ? std::to_string(*e.port) : "", e.hostname.value_or(""));
}

std::string InstanceTable::format_registry_key(const InstanceEntry& e) {
  std::string out = fmt::format(
      "[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\{}\\Parameters]\r\n@=\"{}\"\r\n",
      e.id, escape_reg_string(e.id));
  if (e.dbdir) out += fmt::format("\"dbdir\"=\"{}\"\r\n", escape_reg_string(*e.dbdir));
  if (e.etcdir) out += fmt::format("\"etcdir\"=\"{}\"\r\n", escape_reg_string(*e.etcdir));
  if (e.hostname) out += fmt::format("\"hostname\"=\"{}\"\r\n", escape_reg_string(*e.hostname));
  if (e.port) out += fmt::format("\"port\"=dword:{:08x}\r\n", *e.port);
  return out;
}

void InstanceTable::save(const std::string& utf8) {
  const std::string bytes = encode_text(utf8, text_);
  try {
    // (The edit lock, held by every caller, made the directory of a new etc root or export.)
    write_file_atomically(path_, bytes);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  *this = format_ == Format::kRegistry ? parse_registry(bytes, path_)
                                       : parse_instances_file(bytes, path_);
}

namespace {
std::mutex held_mutex;  // guards held_by
std::map<std::string, std::thread::id> held_by;  // the edit locks this process holds, by path
}  // namespace

InstanceTable::EditLock::EditLock(const std::string& path) : path_(path) {
  {
    std::lock_guard guard(held_mutex);
    if (auto it = held_by.find(path); it != held_by.end() && it->second == std::this_thread::get_id())
      return;  // nested in this thread's own
  }
  const std::string lock_path = path + ".lock";
  if (const size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0)
    make_directories(path.substr(0, slash));
  UniqueFd fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (fd.get() < 0)
    throw ConfigError(fmt::format("{}: cannot be opened: {}", lock_path, std::strerror(errno)));
  while (::flock(fd.get(), LOCK_EX) != 0)
    if (errno != EINTR)
      throw ConfigError(fmt::format("{}: cannot be locked: {}", lock_path, std::strerror(errno)));
  std::lock_guard guard(held_mutex);
  held_by[path] = std::this_thread::get_id();
  fd_ = std::move(fd);
}

InstanceTable::EditLock::~EditLock() {
  if (fd_.get() < 0) return;
  std::lock_guard guard(held_mutex);
  held_by.erase(path_);
}

void InstanceTable::add_and_save(const InstanceEntry& entry) {
  const EditLock lock(path_);
  *this = load(path_, format_);  // as it is now, with what others added meanwhile
  if (find(entry.id))
    throw ConfigError(fmt::format("{}: instance {} already exists", path_, entry.id));
  std::string text = text_.utf8;
  if (format_ == Format::kInstancesFile) {
    if (text.empty())
      text = "# openoserv instances: ID:DBDIR:ETCDIR:PORT:HOSTNAME (empty field = default)\n";
    if (text.back() != '\n') text += '\n';
    text += format_instances_line(entry);
  } else {
    if (text.empty()) {
      text = std::string(kRegistryHeader) + "\r\n";
      text_.encoding = EncodedText::Encoding::kUtf16Le;  // as regedit writes them
      text_.byte_order_mark = true;
    }
    text += "\r\n";
    text += format_registry_key(entry);
  }
  save(text);
}

void InstanceTable::remove_and_save(const std::string& id) {
  const EditLock lock(path_);
  *this = load(path_, format_);
  const InstanceEntry* entry = find(id);
  if (!entry) throw ConfigError(fmt::format("{}: instance {} does not exist", path_, id));
  // Lines with their line ends, so that what is kept stays byte for byte.
  std::vector<std::string> lines;
  const std::string& text = text_.utf8;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = std::min(text.find('\n', pos), text.size() - 1) + 1;
    lines.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  size_t first, last;
  if (format_ == Format::kInstancesFile) {
    first = *parse_number<size_t>(entry->origin.substr(entry->origin.rfind(':') + 1)) - 1;
    last = first + 1;
  } else {
    const std::string key = lower(fmt::format("\\Services\\{}\\Parameters]", id));
    for (first = 0; first < lines.size(); ++first)
      if (trim(lines[first])[0] == '[' && lower(trim(lines[first])).find(key) != std::string::npos)
        break;
    if (first == lines.size())
      throw ConfigError(fmt::format("{}: the key of instance {} was not found", path_, id));
    for (last = first + 1; last < lines.size(); ++last)
      if (!trim(lines[last]).empty() && trim(lines[last])[0] == '[') break;
    // A blank line before the key was written with it.
    if (first > 0 && trim(lines[first - 1]).empty()) --first;
  }
  lines.erase(lines.begin() + static_cast<long>(first), lines.begin() + static_cast<long>(last));
  std::string rewritten;
  for (const auto& l : lines) rewritten += l;
  save(rewritten);
}

}  // namespace openoserv
