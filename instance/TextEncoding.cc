// Encoding detection and iconv conversion.
#include "TextEncoding.h"

#include <iconv.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "InstanceTable.h"
#include "Utf8.h"

namespace openoserv {

namespace {

const char* iconv_name(EncodedText::Encoding e) {
  switch (e) {
    case EncodedText::Encoding::kUtf16Le: return "UTF-16LE";
    case EncodedText::Encoding::kUtf16Be: return "UTF-16BE";
    case EncodedText::Encoding::kUtf8: break;
  }
  return "UTF-8";
}

// Converts `in` from `from` to `to`; on invalid input returns the offset of the bad byte.
std::string convert(std::string_view in, const char* from, const char* to, size_t* bad_offset) {
  iconv_t cd = ::iconv_open(to, from);
  if (cd == reinterpret_cast<iconv_t>(-1))
    throw std::runtime_error(fmt::format("iconv cannot convert {} to {}", from, to));
  std::string out(in.size() * 2 + 16, '\0');
  char* src = const_cast<char*>(in.data());
  size_t src_left = in.size(), dst_left = out.size();
  char* dst = out.data();
  while (src_left > 0) {
    if (::iconv(cd, &src, &src_left, &dst, &dst_left) != static_cast<size_t>(-1)) continue;
    if (errno == E2BIG) {
      const size_t used = static_cast<size_t>(dst - out.data());
      out.resize(out.size() * 2);
      dst = out.data() + used;
      dst_left = out.size() - used;
      continue;
    }
    *bad_offset = static_cast<size_t>(src - in.data());
    ::iconv_close(cd);
    return {};
  }
  ::iconv_close(cd);
  out.resize(static_cast<size_t>(dst - out.data()));
  *bad_offset = std::string::npos;
  return out;
}

EncodedText detect(const std::string& bytes, bool utf16_allowed) {
  using E = EncodedText::Encoding;
  const auto starts = [&](const char* mark, size_t n) { return bytes.compare(0, n, mark, n) == 0; };
  if (starts("\xEF\xBB\xBF", 3)) return {E::kUtf8, true, {}};
  if (!utf16_allowed) return {E::kUtf8, false, {}};
  if (starts("\xFF\xFE", 2)) return {E::kUtf16Le, true, {}};
  if (starts("\xFE\xFF", 2)) return {E::kUtf16Be, true, {}};
  // Without a mark: text of this kind is mostly ASCII, whose UTF-16 has a NUL in every other
  // byte (a stray NUL or two does not make a file UTF-16).
  const size_t sample = std::min<size_t>(bytes.size(), 4096);
  size_t odd_nuls = 0, even_nuls = 0;
  for (size_t i = 0; i < sample; ++i)
    if (bytes[i] == '\0') (i % 2 ? odd_nuls : even_nuls)++;
  if (even_nuls == 0 && odd_nuls * 4 >= sample / 2 && odd_nuls > 0) return {E::kUtf16Le, false, {}};
  if (odd_nuls == 0 && even_nuls * 4 >= sample / 2 && even_nuls > 0) return {E::kUtf16Be, false, {}};
  return {E::kUtf8, false, {}};
}

}  // namespace

EncodedText decode_text(const std::string& bytes, const std::string& path, bool utf16_allowed) {
  EncodedText text = detect(bytes, utf16_allowed);
  const size_t mark = !text.byte_order_mark ? 0
                      : text.encoding == EncodedText::Encoding::kUtf8 ? 3
                                                                       : 2;
  const std::string_view body = std::string_view(bytes).substr(mark);
  if (text.encoding == EncodedText::Encoding::kUtf8) {
    if (const size_t nul = body.find('\0'); nul != std::string_view::npos)
      throw ConfigError(fmt::format("{}: a NUL byte at offset {}: not a text file", path,
                                    mark + nul));
    if (!is_valid_utf8(body))
      throw ConfigError(fmt::format("{}: is neither UTF-8 nor UTF-16 text (invalid UTF-8)", path));
    text.utf8 = std::string(body);
    return text;
  }
  const char* name = iconv_name(text.encoding);
  if (body.size() % 2)
    throw ConfigError(fmt::format("{}: {} text of an odd number of bytes ({}): truncated?", path,
                                  name, bytes.size()));
  size_t bad = 0;
  text.utf8 = convert(body, name, "UTF-8", &bad);
  if (bad != std::string::npos)
    throw ConfigError(fmt::format("{}: invalid {} at byte offset {}", path, name, mark + bad));
  if (text.utf8.find('\0') != std::string::npos)
    throw ConfigError(fmt::format("{}: holds a NUL character: not a text file", path));
  return text;
}

std::string encode_text(const std::string& utf8, const EncodedText& like) {
  using E = EncodedText::Encoding;
  if (like.encoding == E::kUtf8) return (like.byte_order_mark ? "\xEF\xBB\xBF" : "") + utf8;
  size_t bad = 0;
  std::string out = convert(utf8, "UTF-8", iconv_name(like.encoding), &bad);
  if (bad != std::string::npos)
    throw ConfigError(fmt::format("cannot encode text in {} (invalid UTF-8 at offset {})",
                                  iconv_name(like.encoding), bad));
  if (!like.byte_order_mark) return out;
  return (like.encoding == E::kUtf16Le ? std::string("\xFF\xFE") : std::string("\xFE\xFF")) + out;
}

}  // namespace openoserv
