#!/bin/sh
# Configures and builds openoserv into ./build (binaries in build/bin).
set -eu
cd "$(dirname "$0")/.."
"scripts/deps.sh"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DOPENOSERV_WERROR=ON >/dev/null
cmake --build build -j "$(nproc)"
