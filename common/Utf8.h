// Text that leaves the process as a CORBA string must be UTF-8 (the ORB's native code set), but
// what method programs print is arbitrary bytes. valid_utf8() keeps valid UTF-8 as it is and
// replaces each invalid byte with U+FFFD, so a peer ORB can always convert it.
#pragma once

#include <string>
#include <string_view>

namespace openoserv {

bool is_valid_utf8(std::string_view text);
std::string valid_utf8(std::string_view text);

}  // namespace openoserv
