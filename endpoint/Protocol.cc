// Frames and their CDR payloads.
#include "Protocol.h"

#include <array>
#include <vector>

#include <fmt/core.h>

#include "Cdr.h"
#include "Numbers.h"

namespace openoserv::lcf {

namespace {

constexpr std::array<const char*, 11> kTypeNames = {
    nullptr,      "Login",         "LoginReply",  "Heartbeat", "Downcall", "DowncallResult",
    "MethodRequest", "MethodBody", "Upcall",      "UpcallAck", "Redirect"};

bool known_type(std::uint8_t type) { return type >= 1 && type < kTypeNames.size(); }

std::uint32_t be32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return std::uint32_t(u[0]) << 24 | std::uint32_t(u[1]) << 16 | std::uint32_t(u[2]) << 8 | u[3];
}

void put_be32(std::string& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift & 0xFF));
}

}  // namespace

namespace {

// A discovery datagram's words, when it is "<magic> 1 <words...>\n" with `count` words in all,
// each 1-255 printable characters.
std::optional<std::vector<std::string_view>> discovery_words(std::string_view d, std::string_view magic,
                                                             std::size_t count) {
  if (d.size() > kMaxDatagram || d.empty() || d.back() != '\n') return std::nullopt;
  d.remove_suffix(1);
  std::vector<std::string_view> words;
  while (!d.empty()) {
    const std::size_t sp = d.find(' ');
    std::string_view w = d.substr(0, sp);
    if (w.empty() || w.size() > 255) return std::nullopt;
    for (char ch : w)
      if (static_cast<unsigned char>(ch) <= ' ' || ch == 0x7f) return std::nullopt;
    words.push_back(w);
    if (sp == std::string_view::npos) break;
    d.remove_prefix(sp + 1);
    if (d.empty()) return std::nullopt;  // a trailing space
  }
  if (words.size() != count || words[0] != magic || words[1] != "1") return std::nullopt;
  return words;
}

}  // namespace

std::string discovery_request(const std::string& label) {
  return fmt::format("LCF-DISCOVER 1 {}\n", label);
}

std::optional<std::string> parse_discovery_request(std::string_view datagram) {
  auto w = discovery_words(datagram, "LCF-DISCOVER", 3);
  if (!w) return std::nullopt;
  return std::string((*w)[2]);
}

std::string discovery_answer(const DiscoveryAnswer& a) {
  return fmt::format("LCF-GATEWAY 1 {} {}+{}\n", a.label, a.host, a.port);
}

std::optional<DiscoveryAnswer> parse_discovery_answer(std::string_view datagram) {
  auto w = discovery_words(datagram, "LCF-GATEWAY", 4);
  if (!w) return std::nullopt;
  const std::string_view where = (*w)[3];
  const std::size_t plus = where.rfind('+');
  if (plus == std::string_view::npos || plus == 0) return std::nullopt;
  auto port = parse_number<std::uint16_t>(where.substr(plus + 1));
  if (!port || *port == 0) return std::nullopt;
  return DiscoveryAnswer{std::string((*w)[2]), std::string(where.substr(0, plus)), *port};
}

std::string type_name(std::uint8_t type) {
  return known_type(type) ? kTypeNames[type] : fmt::format("type {}", type);
}

std::string frame_bytes(Type type, std::uint32_t id, const std::string& payload) {
  if (payload.size() > kMaxPayload)
    throw ProtocolError(fmt::format("a {} frame of {} bytes is over the limit of {}",
                                    type_name(static_cast<std::uint8_t>(type)), payload.size(),
                                    kMaxPayload));
  std::string out = "LC";
  out.push_back(static_cast<char>(kVersion));
  out.push_back(static_cast<char>(type));
  put_be32(out, static_cast<std::uint32_t>(payload.size()));
  put_be32(out, id);
  return out + payload;
}

template <typename Message>
std::string encode(Type type, std::uint32_t id, const Message& message) {
  std::string payload(1, cdr::little_endian() ? '\1' : '\0');
  cdr::append(message, payload);
  return frame_bytes(type, id, payload);
}

template <typename Message>
Message decode(const Frame& frame) {
  Message message;
  const std::string_view p = frame.payload;
  if (p.empty() || (p[0] != 0 && p[0] != 1) ||
      !cdr::read(p.substr(1), p[0] == 1, message))
    throw ProtocolError(fmt::format("a {} frame whose payload ({} bytes) is not one {} message",
                                    type_name(static_cast<std::uint8_t>(frame.type)), p.size(),
                                    type_name(static_cast<std::uint8_t>(frame.type))));
  return message;
}

std::optional<Frame> FrameReader::next() {
  if (buffered() < kHeaderSize) return std::nullopt;
  const char* h = buffer_.data() + consumed_;
  if (h[0] != 'L' || h[1] != 'C')
    throw ProtocolError("not an endpoint protocol frame (no \"LC\" magic)");
  if (static_cast<std::uint8_t>(h[2]) != kVersion)
    throw ProtocolError(fmt::format("protocol version {} (this side speaks {})",
                                    static_cast<unsigned>(static_cast<std::uint8_t>(h[2])),
                                    kVersion));
  const auto type = static_cast<std::uint8_t>(h[3]);
  if (!known_type(type)) throw ProtocolError(fmt::format("unknown frame {}", type_name(type)));
  const std::uint32_t length = be32(h + 4);
  if (length > limit_)
    throw ProtocolError(fmt::format("a {} frame announces {} bytes, over the limit of {}",
                                    type_name(type), length, limit_));
  if (buffered() < kHeaderSize + length) return std::nullopt;
  Frame frame{static_cast<Type>(type), be32(h + 8), std::string(h + kHeaderSize, length)};
  consumed_ += kHeaderSize + length;
  // Drop what was consumed once it is all, or most, of the buffer, so it does not grow
  // without bound.
  if (consumed_ == buffer_.size()) {
    // An idle session keeps no more than a small frame's room (a method body was megabytes).
    if (buffer_.capacity() > 4096) std::string().swap(buffer_);
    else buffer_.clear();
    consumed_ = 0;
  } else if (consumed_ > 4096 && consumed_ * 2 > buffer_.size()) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  return frame;
}

#define OPENOSERV_LCF_MESSAGE(T)                                          \
  template std::string encode<Lcf::T>(Type, std::uint32_t, const Lcf::T&); \
  template Lcf::T decode<Lcf::T>(const Frame&);
OPENOSERV_LCF_MESSAGE(Login)
OPENOSERV_LCF_MESSAGE(LoginReply)
OPENOSERV_LCF_MESSAGE(Heartbeat)
OPENOSERV_LCF_MESSAGE(Downcall)
OPENOSERV_LCF_MESSAGE(DowncallResult)
OPENOSERV_LCF_MESSAGE(MethodRequest)
OPENOSERV_LCF_MESSAGE(MethodBody)
OPENOSERV_LCF_MESSAGE(Upcall)
OPENOSERV_LCF_MESSAGE(UpcallAck)
OPENOSERV_LCF_MESSAGE(Redirect)
#undef OPENOSERV_LCF_MESSAGE

}  // namespace openoserv::lcf
