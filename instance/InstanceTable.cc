// Parsing and writing of the instances file and of registry exports.
#include "InstanceTable.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

#include <fmt/core.h>

#include "TextFile.h"

namespace openoserv {

namespace {

constexpr const char* kServicesKey = "hkey_local_machine\\system\\currentcontrolset\\services\\";
constexpr const char* kRegistryHeader = "Windows Registry Editor Version 5.00";

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

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = nl + 1;
  }
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

[[noreturn]] void fail(const std::string& path, size_t line, const std::string& what) {
  throw ConfigError(fmt::format("{}:{}: {}", path, line, what));
}

std::optional<std::uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

bool is_valid_hostname(const std::string& h) {
  if (h.empty() || h.size() > 253) return false;
  return std::all_of(h.begin(), h.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_';
  });
}

// Checks one stored parameter; `where` locates it for the message.
void check_entry_values(const InstanceEntry& e, const std::string& path, size_t line) {
  for (const auto* dir : {&e.dbdir, &e.etcdir}) {
    if (*dir && (*dir)->front() != '/')
      fail(path, line,
           fmt::format("instance {}: directory '{}' must be an absolute path", e.id, **dir));
  }
  if (e.hostname && !is_valid_hostname(*e.hostname))
    fail(path, line, fmt::format("instance {}: '{}' is not a valid host name", e.id, *e.hostname));
}

// --- UTF-16LE support: regedit writes its exports in UTF-16LE with a byte-order mark. ---

std::string utf16le_to_utf8(std::string_view bytes, const std::string& path) {
  std::string out;
  for (size_t i = 0; i + 1 < bytes.size(); i += 2) {
    unsigned cp = static_cast<unsigned char>(bytes[i]) |
                  (static_cast<unsigned char>(bytes[i + 1]) << 8);
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (i + 3 >= bytes.size())
        throw ConfigError(fmt::format("{}: truncated UTF-16 surrogate pair at end of file", path));
      unsigned lo = static_cast<unsigned char>(bytes[i + 2]) |
                    (static_cast<unsigned char>(bytes[i + 3]) << 8);
      if (lo < 0xDC00 || lo > 0xDFFF)
        throw ConfigError(fmt::format("{}: invalid UTF-16 at byte offset {}", path, i));
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
      i += 2;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

std::string utf8_to_utf16le(std::string_view s) {
  std::string out;
  auto put = [&out](unsigned u) {
    out += static_cast<char>(u & 0xFF);
    out += static_cast<char>(u >> 8);
  };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    unsigned cp;
    int len;
    if (c < 0x80) { cp = c; len = 1; }
    else if ((c >> 5) == 6) { cp = c & 0x1F; len = 2; }
    else if ((c >> 4) == 14) { cp = c & 0x0F; len = 3; }
    else { cp = c & 0x07; len = 4; }
    for (int k = 1; k < len && i + k < s.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    i += len;
    if (cp >= 0x10000) {
      cp -= 0x10000;
      put(0xD800 + (cp >> 10));
      put(0xDC00 + (cp & 0x3FF));
    } else {
      put(cp);
    }
  }
  return out;
}

bool starts_with_utf16_bom(const std::string& text) {
  return text.size() >= 2 && static_cast<unsigned char>(text[0]) == 0xFF &&
         static_cast<unsigned char>(text[1]) == 0xFE;
}

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
  std::string lv = lower(v);
  if (lv.rfind("dword:", 0) == 0) {
    std::string hex = v.substr(6);
    if (hex.size() != 8) return std::nullopt;
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), value, 16);
    if (ec != std::errc() || end != hex.data() + hex.size()) return std::nullopt;
    RegValue r{RegValue::kDword, {}};
    r.dword = value;
    return r;
  }
  if (lv.rfind("hex:", 0) == 0 || lv.rfind("hex(", 0) == 0) {
    size_t colon = v.find(':');
    if (colon == std::string::npos) return std::nullopt;
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

}  // namespace

bool is_valid_instance_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || id[0] == '.' || id[0] == '-') return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '.' || c == '-';
  });
}

InstanceTable InstanceTable::parse_instances_file(const std::string& text,
                                                  const std::string& path) {
  InstanceTable table;
  table.path_ = path;
  table.format_ = Format::kInstancesFile;
  table.original_text_ = text;
  std::map<std::string, size_t> seen;
  auto lines = split_lines(text);
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t lineno = i + 1;
    std::string line = trim(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    size_t start = 0;
    for (;;) {
      size_t colon = line.find(':', start);
      fields.push_back(line.substr(start, colon - start));
      if (colon == std::string::npos) break;
      start = colon + 1;
    }
    if (fields.size() != 5)
      fail(path, lineno,
           fmt::format("expected ID:DBDIR:ETCDIR:PORT:HOSTNAME (5 fields), found {} in '{}'",
                       fields.size(), line));
    InstanceEntry e;
    e.id = fields[0];
    if (!is_valid_instance_id(e.id))
      fail(path, lineno,
           fmt::format("'{}' is not a valid instance ID (letters, digits, '_', '.', '-')", e.id));
    if (auto it = seen.find(e.id); it != seen.end())
      fail(path, lineno, fmt::format("instance {} is already defined at line {}", e.id, it->second));
    seen[e.id] = lineno;
    if (!fields[1].empty()) e.dbdir = fields[1];
    if (!fields[2].empty()) e.etcdir = fields[2];
    if (!fields[3].empty()) {
      e.port = parse_port(fields[3]);
      if (!e.port)
        fail(path, lineno,
             fmt::format("instance {}: port '{}' is not a number from 1 to 65535", e.id, fields[3]));
    }
    if (!fields[4].empty()) e.hostname = fields[4];
    check_entry_values(e, path, lineno);
    e.origin = fmt::format("{}:{}", path, lineno);
    table.entries_.push_back(std::move(e));
  }
  return table;
}

InstanceTable InstanceTable::parse_registry(const std::string& raw, const std::string& path) {
  InstanceTable table;
  table.path_ = path;
  table.format_ = Format::kRegistry;
  table.original_text_ = raw;
  std::string text;
  if (starts_with_utf16_bom(raw)) {
    text = utf16le_to_utf8(std::string_view(raw).substr(2), path);
  } else if (raw.rfind("\xEF\xBB\xBF", 0) == 0) {
    text = raw.substr(3);
  } else {
    text = raw;
  }
  auto lines = split_lines(text);

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
      if (line.back() != ']') fail(path, lineno, "key line must end with ']'");
      std::string key = line.substr(1, line.size() - 2);
      current = nullptr;
      if (!key.empty() && key[0] == '-') continue;  // key deletion: nothing to read
      std::string lkey = lower(key);
      const std::string prefix = kServicesKey;
      const std::string suffix = "\\parameters";
      if (lkey.rfind(prefix, 0) != 0 || lkey.size() <= prefix.size() + suffix.size() ||
          lkey.compare(lkey.size() - suffix.size(), suffix.size(), suffix) != 0)
        continue;
      std::string id = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
      if (id.find('\\') != std::string::npos) continue;  // a deeper key, not a Parameters key
      if (!is_valid_instance_id(id))
        fail(path, lineno, fmt::format("'{}' is not a valid instance ID", id));
      auto [it, inserted] = index.emplace(lower(id), table.entries_.size());
      if (inserted) {
        InstanceEntry e;
        e.id = id;
        e.origin = fmt::format("{}:{}", path, lineno);
        table.entries_.push_back(std::move(e));
      }
      current = &table.entries_[it->second];
      current_line = lineno;
      continue;
    }
    // A value line: "name"=value or @=value.
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
                                     line));
    }
    if (pos >= line.size() || line[pos] != '=')
      fail(path, lineno, "expected '=' after the value name");
    auto value = parse_reg_value(trim(line.substr(pos + 1)));
    if (!value)
      fail(path, lineno, fmt::format("malformed value '{}'", trim(line.substr(pos + 1))));
    if (!current) continue;
    if (name == "dbdir" || name == "etcdir" || name == "hostname") {
      std::optional<std::string>* field = name == "dbdir"    ? &current->dbdir
                                          : name == "etcdir" ? &current->etcdir
                                                             : &current->hostname;
      if (value->kind == RegValue::kDelete) {
        field->reset();
      } else if (value->kind != RegValue::kString) {
        fail(path, lineno, fmt::format("value '{}' must be a string", name));
      } else if (value->text.empty()) {
        field->reset();
      } else {
        *field = value->text;
      }
    } else if (name == "port") {
      if (value->kind == RegValue::kDelete) {
        current->port.reset();
      } else if (value->kind == RegValue::kDword) {
        if (value->dword == 0 || value->dword > 65535)
          fail(path, lineno, fmt::format("port {} is not from 1 to 65535", value->dword));
        current->port = static_cast<std::uint16_t>(value->dword);
      } else if (value->kind == RegValue::kString) {
        current->port = parse_port(value->text);
        if (!current->port)
          fail(path, lineno, fmt::format("port '{}' is not a number from 1 to 65535", value->text));
      } else {
        fail(path, lineno, "value 'port' must be a dword");
      }
    }
    check_entry_values(*current, path, current_line);
  }
  return table;
}

InstanceTable InstanceTable::load(const std::string& path, Format format) {
  std::optional<std::string> text;
  try {
    text = read_text_file(path);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  if (!text) {
    InstanceTable empty;
    empty.path_ = path;
    empty.format_ = format;
    return empty;
  }
  return format == Format::kRegistry ? parse_registry(*text, path)
                                     : parse_instances_file(*text, path);
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

void InstanceTable::add_and_save(const InstanceEntry& entry) {
  if (find(entry.id)) throw ConfigError(fmt::format("{}: instance {} already exists", path_, entry.id));
  std::string text = original_text_;
  if (format_ == Format::kInstancesFile) {
    if (text.empty())
      text = "# openoserv instances: ID:DBDIR:ETCDIR:PORT:HOSTNAME (empty field = default)\n";
    if (text.back() != '\n') text += '\n';
    text += format_instances_line(entry);
  } else {
    const bool utf16 = starts_with_utf16_bom(text);
    std::string addition = "\r\n" + format_registry_key(entry);
    if (text.empty()) {
      text = std::string(kRegistryHeader) + "\r\n" + addition;
    } else if (utf16) {
      text += utf8_to_utf16le(addition);
    } else {
      text += addition;
    }
  }
  try {
    write_file_atomically(path_, text);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  original_text_ = std::move(text);
  InstanceEntry added = entry;
  added.origin = path_;
  entries_.push_back(std::move(added));
}

void InstanceTable::remove_and_save(const std::string& id) {
  const InstanceEntry* entry = find(id);
  if (!entry) throw ConfigError(fmt::format("{}: instance {} does not exist", path_, id));
  const bool utf16 = format_ == Format::kRegistry && starts_with_utf16_bom(original_text_);
  std::string text = utf16 ? utf16le_to_utf8(original_text_, path_) : original_text_;
  // Lines with their line ends, so that what is kept stays byte for byte.
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(pos, end - pos));
    pos = end;
  }
  if (format_ == Format::kInstancesFile) {
    const size_t lineno = std::stoul(entry->origin.substr(entry->origin.rfind(':') + 1));
    lines.erase(lines.begin() + static_cast<long>(lineno - 1));
  } else {
    const std::string key = lower(
        fmt::format("\\Services\\{}\\Parameters]", id));
    size_t first = lines.size();
    for (size_t i = 0; i < lines.size() && first == lines.size(); ++i)
      if (lower(trim(lines[i])).find(key) != std::string::npos && trim(lines[i])[0] == '[')
        first = i;
    if (first == lines.size())
      throw ConfigError(fmt::format("{}: the key of instance {} was not found", path_, id));
    size_t last = first + 1;
    while (last < lines.size() && (trim(lines[last]).empty() || trim(lines[last])[0] != '['))
      ++last;
    // A blank line before the key was written with it.
    if (first > 0 && trim(lines[first - 1]).empty()) --first;
    lines.erase(lines.begin() + static_cast<long>(first), lines.begin() + static_cast<long>(last));
  }
  std::string rewritten;
  for (const auto& l : lines) rewritten += l;
  if (utf16) rewritten = utf8_to_utf16le(rewritten);
  try {
    write_file_atomically(path_, rewritten);
  } catch (const std::runtime_error& e) {
    throw ConfigError(e.what());
  }
  *this = format_ == Format::kRegistry ? parse_registry(rewritten, path_)
                                       : parse_instances_file(rewritten, path_);
}

}  // namespace openoserv
