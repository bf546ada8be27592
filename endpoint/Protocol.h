// The endpoint protocol's frames (docs/LCF-PROTOCOL.md): what flows between an lcfd and its
// gateway over the endpoint-initiated session.
//
// A frame is a 12-byte header, then the payload:
//   0  2  magic "LC"
//   2  1  protocol version (1)
//   3  1  type (Type below)
//   4  4  payload length, big-endian (at most kMaxPayload)
//   8  4  request id, big-endian (a reply carries its request's; 0 for unsolicited frames)
//  12  .  payload: one byte, 1 when the CDR after it is little-endian (0: big-endian), then
//         the CDR encoding of the type's message (idl/lcf.idl)
//
// A reader takes bytes as they come (FrameReader) and yields whole frames; anything that is not
// a frame of this protocol (wrong magic, a version it does not speak, an unknown type, a length
// over the limit, a payload that is not exactly one message of its type) is a ProtocolError
// naming what was wrong, and the session is closed: a peer never gets a half-understood frame
// acted on.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "lcf.hh"

namespace openoserv::lcf {

inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 12;
inline constexpr std::uint32_t kMaxPayload = 16u << 20;  // a method program's body fits
// What a gateway takes from a session before its login is accepted: a Login is a few hundred
// bytes, and anyone who reaches the port gets this far.
inline constexpr std::uint32_t kMaxPayloadBeforeLogin = 64u << 10;

enum class Type : std::uint8_t {
  kLogin = 1,
  kLoginReply = 2,
  kHeartbeat = 3,
  kDowncall = 4,
  kDowncallResult = 5,
  kMethodRequest = 6,
  kMethodBody = 7,
  kUpcall = 8,
  kUpcallAck = 9,
  kRedirect = 10,
};
// "Login", "Heartbeat", ...; "type N" for a number that is no type.
std::string type_name(std::uint8_t type);

struct ProtocolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Frame {
  Type type;
  std::uint32_t id = 0;
  std::string payload;  // the byte-order flag and the CDR
};

// The frame carrying `message` (whose IDL type must match `type`).
template <typename Message>
std::string encode(Type type, std::uint32_t id, const Message& message);

// The message a frame carries; ProtocolError when the payload is not exactly one `Message`.
template <typename Message>
Message decode(const Frame& frame);

// Reassembles frames from a byte stream.
class FrameReader {
 public:
  // Adds bytes as they arrived.
  void feed(std::string_view bytes) { buffer_.append(bytes); }
  // The next whole frame, or nullopt until more bytes arrive. Throws ProtocolError for a header
  // that is not this protocol's (before its payload arrives: a bad length is not waited for).
  std::optional<Frame> next();
  // Bytes received and not yet returned as frames.
  std::size_t buffered() const { return buffer_.size() - consumed_; }
  // The largest payload a frame may announce from now on (kMaxPayload at most).
  void limit(std::uint32_t max_payload) { limit_ = std::min(max_payload, kMaxPayload); }

 private:
  std::string buffer_;
  std::size_t consumed_ = 0;
  std::uint32_t limit_ = kMaxPayload;
};

// Broadcast discovery (docs/LCF-PROTOCOL.md, "Discovery"): one UDP datagram each way on the
// gateways' port, text so that tcpdump shows it.
//   endpoint -> broadcast   "LCF-DISCOVER 1 <endpoint label>\n"
//   gateway  -> endpoint    "LCF-GATEWAY 1 <gateway label> <host>+<port>\n"
// A host of "*" means "the address this answer came from". Labels and hosts are 1-255 printable
// characters without spaces; anything else is not a discovery datagram (nullopt: ignored).
inline constexpr std::size_t kMaxDatagram = 600;
std::string discovery_request(const std::string& label);
std::optional<std::string> parse_discovery_request(std::string_view datagram);  // the label
struct DiscoveryAnswer {
  std::string label;
  std::string host;  // "*": the sender's address
  std::uint16_t port = 0;
};
std::string discovery_answer(const DiscoveryAnswer& answer);
std::optional<DiscoveryAnswer> parse_discovery_answer(std::string_view datagram);

// Internals of encode/decode (Protocol.cc instantiates them for every message of lcf.idl).
std::string frame_bytes(Type type, std::uint32_t id, const std::string& payload);

}  // namespace openoserv::lcf
