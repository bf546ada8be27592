// any <-> bytes with omniORB's cdrMemoryStream.
#include "AttributeCodec.h"

#include <cstring>
#include <stdexcept>
#include <vector>

namespace openoserv {

namespace {
constexpr size_t kHeader = 8;
}

std::string encode_attribute(const CORBA::Any& value) {
  cdrMemoryStream stream;
  value >>= stream;
  std::string out(kHeader, '\0');
  out[0] = static_cast<char>(omni::myByteOrder);
  out.append(static_cast<const char*>(stream.bufPtr()), stream.bufSize());
  return out;
}

void decode_attribute(const std::string& bytes, CORBA::Any& value) {
  if (bytes.size() < kHeader || (bytes[0] != 0 && bytes[0] != 1))
    throw std::runtime_error("not an encoded attribute (bad header)");
  // A copy into 8-aligned memory: omniORB aligns CDR by address.
  const size_t n = bytes.size() - kHeader;
  std::vector<std::uint64_t> aligned((n + 7) / 8 + 1);
  std::memcpy(aligned.data(), bytes.data() + kHeader, n);
  cdrMemoryStream stream(aligned.data(), n);
  stream.setByteSwapFlag(bytes[0] == 1);
  try {
    value <<= stream;
  } catch (const CORBA::SystemException& e) {
    throw std::runtime_error(std::string("not an encoded attribute (") + e._name() + ")");
  }
}

}  // namespace openoserv
