// OID parsing and formatting: on every call's path, so plain conversions, no format strings.
#include "Oid.h"

#include <charconv>

#include <fmt/core.h>

#include "Failure.h"
#include "Numbers.h"

namespace openoserv {

std::string Oid::key() const {
  char buf[3 * 21];
  char* p = std::to_chars(buf, buf + 21, region).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 21, od).ptr;
  *p++ = '.';
  p = std::to_chars(p, p + 21, n).ptr;
  return std::string(buf, p);
}

std::string Oid::text() const { return cls.empty() ? key() : key() + '#' + cls + '#'; }

bool Oid::try_parse(std::string_view text, Oid& out) {
  const size_t hash = text.find('#');
  const std::string_view numbers = text.substr(0, hash);
  const size_t d1 = numbers.find('.');
  const size_t d2 = d1 == std::string_view::npos ? d1 : numbers.find('.', d1 + 1);
  if (d2 == std::string_view::npos) return false;
  const auto region = parse_number<std::uint32_t>(numbers.substr(0, d1));
  const auto od = parse_number<std::uint32_t>(numbers.substr(d1 + 1, d2 - d1 - 1));
  const auto n = parse_number<std::uint64_t>(numbers.substr(d2 + 1));
  if (!region || !od || !n || *od == 0) return false;
  std::string_view cls;
  if (hash != std::string_view::npos) {
    if (text.size() < hash + 3 || text.back() != '#') return false;
    cls = text.substr(hash + 1, text.size() - hash - 2);
    if (cls.find('#') != std::string_view::npos) return false;
  }
  out = Oid{*region, *od, *n, std::string(cls)};
  return true;
}

Oid Oid::parse(std::string_view text) {
  Oid oid;
  if (!try_parse(text, oid))
    fail(fmt::format("'{}' is not an object id (<region>.<dispatcher>.<object>#<class>#)", text));
  return oid;
}

std::string attribute_key(std::string_view oid, std::string_view name) {
  if (name.empty() || name.find('/') != std::string_view::npos)
    fail(fmt::format("'{}' is not an attribute name (not empty, no '/')", name));
  return Oid::parse(oid).key() + '/' + std::string(name);
}

std::string corbaloc_key(std::string_view oid) {
  std::string out;
  for (unsigned char c : oid) {
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || std::string_view("-_.!~*'()").find(c) !=
                                                          std::string_view::npos;
    if (unreserved || c == ':')
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace openoserv
