// Typed attributes: a CORBA `any` (type code and value) stored as bytes in the attributes table.
//
// Layout: byte 0 = byte order of the CDR that follows (1 little-endian), bytes 1-7 zero, then the
// any marshalled with omniORB's CDR (type code, then value). The 8-byte header keeps the CDR
// 8-aligned, as omniORB requires, and the byte-order flag lets a node of the other endianness
// read an attribute after a failover.
#pragma once

#include <string>

#include <omniORB4/CORBA.h>

namespace openoserv {

std::string encode_attribute(const CORBA::Any& value);

// Throws std::runtime_error when `bytes` is not an encoded attribute.
void decode_attribute(const std::string& bytes, CORBA::Any& value);

}  // namespace openoserv
