// Fuzz target over the endpoint protocol's reader (endpoint/Protocol.h): any bytes from a peer
// either make frames whose payloads decode or fail with ProtocolError; never a crash, a hang or
// a read out of bounds. With clang (-DOPENOSERV_FUZZ=ON) a libFuzzer target; otherwise
// LcfFuzzDriver.cc runs it over mutated valid sessions under ctest.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "Protocol.h"

using namespace openoserv::lcf;

namespace {

void decode_as_its_type(const Frame& f) {
  switch (f.type) {
    case Type::kLogin: decode<Lcf::Login>(f); break;
    case Type::kLoginReply: decode<Lcf::LoginReply>(f); break;
    case Type::kHeartbeat: decode<Lcf::Heartbeat>(f); break;
    case Type::kDowncall: decode<Lcf::Downcall>(f); break;
    case Type::kDowncallResult: decode<Lcf::DowncallResult>(f); break;
    case Type::kMethodRequest: decode<Lcf::MethodRequest>(f); break;
    case Type::kMethodBody: decode<Lcf::MethodBody>(f); break;
    case Type::kUpcall: decode<Lcf::Upcall>(f); break;
    case Type::kUpcallAck: decode<Lcf::UpcallAck>(f); break;
    case Type::kRedirect: decode<Lcf::Redirect>(f); break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  FrameReader reader;
  // Two feeds, split in the middle: the reader must not depend on how bytes arrive.
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  parse_discovery_request(bytes);  // the discovery datagrams too: ignored or parsed, no more
  parse_discovery_answer(bytes);
  try {
    reader.feed(bytes.substr(0, size / 2));
    while (auto f = reader.next()) try { decode_as_its_type(*f); } catch (const ProtocolError&) {}
    reader.feed(bytes.substr(size / 2));
    while (auto f = reader.next()) try { decode_as_its_type(*f); } catch (const ProtocolError&) {}
  } catch (const ProtocolError&) {
  }
  return 0;
}
