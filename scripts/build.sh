#!/bin/sh
# Configures and builds openoserv into ./build (binaries in build/bin): a Release build, what
# users build and the Debian package is made of (scripts/package.sh), with warnings as errors.
# For a debugger's build, configure another directory with -DCMAKE_BUILD_TYPE=RelWithDebInfo.
set -eu
cd "$(dirname "$0")/.."
"scripts/deps.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DOPENOSERV_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)"
