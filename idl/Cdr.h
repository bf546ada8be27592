// CDR encoding of IDL values outside any ORB call, for what openoserv writes itself: stored
// records (domain/Records.cc) and the endpoint protocol's payloads (endpoint/Protocol.h).
//
// Strings are UTF-8 whatever the process's ORB settings (no ORB_init is needed), and the buffer
// is cleared first, so alignment padding is zeros: the bytes depend on the value only and carry
// nothing of the process's memory. The byte order is this machine's; the reader is told which
// order the bytes are in (a flag the container stores beside them).
#pragma once

#include <omniORB4/CORBA.h>
#include <omniORB4/codeSets.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace openoserv::cdr {

class Utf8Stream : public cdrMemoryStream {
 public:
  Utf8Stream() : cdrMemoryStream(0, true) { use_utf8(); }
  Utf8Stream(void* data, size_t size) : cdrMemoryStream(data, size) { use_utf8(); }

 private:
  void use_utf8() {
    pd_ncs_c = omni::omniCodeSet::getNCS_C(omni::omniCodeSet::ID_UTF_8);
    pd_tcs_c = omni::omniCodeSet::getTCS_C(omni::omniCodeSet::ID_UTF_8, GIOP::Version{1, 2});
  }
};

// True when this machine is little-endian (the flag a reader needs).
inline bool little_endian() { return omni::myByteOrder != 0; }

// Appends `value`'s CDR, in this machine's byte order, to `out`.
template <typename T>
void append(const T& value, std::string& out) {
  Utf8Stream stream;
  value >>= stream;
  out.append(static_cast<const char*>(stream.bufPtr()), stream.bufSize());
}

// Decodes `bytes` (in little-endian order when `little`) into `value`. False when they are not
// exactly one value of T: malformed, short, or with bytes left over.
template <typename T>
bool read(std::string_view bytes, bool little, T& value) {
  // A copy into 8-aligned memory: omniORB aligns CDR by address.
  std::vector<std::uint64_t> aligned(bytes.size() / 8 + 1);
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  Utf8Stream stream(aligned.data(), bytes.size());
  stream.setByteSwapFlag(little);  // "the data is little-endian", not "swap"
  try {
    value <<= stream;
  } catch (const CORBA::SystemException&) {
    return false;
  }
  return stream.currentInputPtr() == bytes.size();
}

}  // namespace openoserv::cdr
