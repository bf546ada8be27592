// The encodings a configuration file may come in, decoded with iconv. Registry exports are
// written by regedit in UTF-16 (little-endian with a byte-order mark); hand-made ones may be
// UTF-8, or UTF-16 of either byte order with or without a mark. A file is rewritten in the
// encoding it was read in.
#pragma once

#include <string>

namespace openoserv {

struct EncodedText {
  enum class Encoding { kUtf8, kUtf16Le, kUtf16Be };
  Encoding encoding = Encoding::kUtf8;
  bool byte_order_mark = false;
  std::string utf8;  // the text, without the byte-order mark
};

// Detects the encoding (a byte-order mark; else NUL bytes in the odd or even positions of an
// ASCII-heavy file betray UTF-16) and decodes; without `utf16_allowed` only UTF-8 is text. Throws
// ConfigError naming `path` and the byte offset when the bytes are not text in that encoding
// (invalid UTF-8, a lone surrogate, an odd length of UTF-16, NUL bytes).
EncodedText decode_text(const std::string& bytes, const std::string& path, bool utf16_allowed);
// `utf8` in the encoding (and with the mark) of `like`.
std::string encode_text(const std::string& utf8, const EncodedText& like);

}  // namespace openoserv
