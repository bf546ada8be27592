// Strict number parsing for everything read from a command line, a file or the wire: the whole
// text must be the number, in range for T, with no sign where T has none and no blanks.
#pragma once

#include <charconv>
#include <optional>
#include <string_view>
#include <type_traits>

namespace openoserv {

template <typename T>
std::optional<T> parse_number(std::string_view text, int base = 10) {
  static_assert(std::is_integral_v<T>);
  T value{};
  if (text.empty() || (std::is_unsigned_v<T> && text.front() == '-')) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace openoserv
