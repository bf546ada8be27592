#!/bin/sh
# Static checks CI runs after the tests: no function over 80 lines (clang-tidy's
# readability-function-size, on the compile commands of ./build). Installs clang-tidy if missing.
set -eu
cd "$(dirname "$0")/.."
if ! command -v clang-tidy >/dev/null; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang-tidy
fi
cmake -S . -B build -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
echo "== functions over 80 lines (clang-tidy readability-function-size)"
out=$(git ls-files '*.cc' | xargs -P "$(nproc)" -n 4 clang-tidy -p build --quiet \
  -checks='-*,readability-function-size' \
  -config='{CheckOptions: [{key: readability-function-size.LineThreshold, value: 80}]}' 2>/dev/null |
  grep 'warning:' | sort -u || true)
if [ -n "$out" ]; then
  echo "$out"
  exit 1
fi
echo "none"
