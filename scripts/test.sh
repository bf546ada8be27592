#!/bin/sh
# README command 2: installs what is missing, builds, and runs the whole test suite (ctest).
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)"
