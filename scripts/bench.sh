#!/bin/sh
# Runs the benchmarks against real processes and prints raw baselines and ratios.
# See docs/PERFORMANCE.md for recorded results.
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
BIN=$PWD/build/bin
WORK=$(mktemp -d /tmp/oo-bench.XXXXXX)
export OSERV_ETC_ROOT=$WORK/etc
unset OSERV WLOCALHOST OSERV_REGISTRY
cleanup() { "$WORK/etc/oserv/oserv.rc" stop >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT
port() { echo $((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000)); }
OPORT=$(port); RPORT=$(port)
"$BIN/oinstall" --id oserv --dbdir "$WORK/db" --hostname 127.0.0.2 --port "$OPORT" --force-bind \
  >/dev/null
"$WORK/etc/oserv/oserv.rc" start >/dev/null 2>&1
echo "== dispatcher ping (bench/ping_bench.cc)"
"$BIN/ping_bench" --oserv-socket "$WORK/etc/run/oserv.sock" --oserv-tcp "127.0.0.2:$OPORT" \
  --raw-socket "$WORK/raw.sock" --raw-tcp "127.0.0.2:$RPORT" "$@"
