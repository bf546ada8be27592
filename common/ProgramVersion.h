// What every openoserv command prints for --version (help2man reads its first line for the
// man page's footer).
#pragma once

#include <cstdio>

#include "Version.h"

namespace openoserv {

inline void print_version(const char* program) {
  std::printf("%s (openoserv) %s\nbuilt from %s, %s\n", program, OPENOSERV_VERSION, OPENOSERV_GIT,
              OPENOSERV_BUILD_DATE);
}

}  // namespace openoserv
