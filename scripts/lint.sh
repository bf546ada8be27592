#!/bin/sh
# Static checks CI runs after the tests:
#  - shellcheck on every shell script (the instance script templates rendered first; settings in
#    .shellcheckrc);
#  - no function over 80 lines (clang-tidy's readability-function-size, on the compile commands
#    of ./build).
# Installs shellcheck and clang-tidy if missing.
set -eu
cd "$(dirname "$0")/.."
missing=""
command -v shellcheck >/dev/null || missing="$missing shellcheck"
command -v clang-tidy >/dev/null || missing="$missing clang-tidy"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

echo "== shellcheck"
rendered=$(mktemp -d /tmp/oo-lint.XXXXXX)
trap 'rm -rf "$rendered"' EXIT
for template in oserv.rc setup_env.sh etc-root-action application-server; do
  sed -e 's/%ID%/oserv/g; s/%ACTION%/start/g' -e "s|%[A-Z_]*%|'x'|g" "ha/$template.in" \
    >"$rendered/$template"
done
shellcheck -s sh .ci/run ha/copy-cluster.sh ha/oserv-status.sh ha/runit/oserv/run ha/ocf/oserv \
  scripts/*.sh "$rendered"/*
shellcheck -s sh endpoint/scripts/winstlcf
shellcheck -s bash tests/*.sh tests/integration/*.sh tests/scenarios/*.sh \
  packaging/bash-completion/openoserv
echo "clean"

echo "== functions over 80 lines (clang-tidy readability-function-size)"
cmake -S . -B build -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
out=$(git ls-files '*.cc' | xargs -P "$(nproc)" -n 4 clang-tidy -p build --quiet \
  -checks='-*,readability-function-size' \
  -config='{CheckOptions: [{key: readability-function-size.LineThreshold, value: 80}]}' 2>/dev/null |
  grep 'warning:' | sort -u || true)
if [ -n "$out" ]; then
  echo "$out"
  exit 1
fi
echo "none"
