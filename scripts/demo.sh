#!/bin/sh
# README command 1: installs what is missing, builds, creates a TMR server instance in
# ./scratch/demo (no root needed beyond apt), starts it on loopback and shows odadmin output.
# Stop it with: scratch/demo/etc/oserv/oserv.rc stop
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh
ROOT=$PWD/scratch/demo
PORT=${OPENOSERV_DEMO_PORT:-9494}
if [ -x "$ROOT/etc/oserv/oserv.rc" ]; then "$ROOT/etc/oserv/oserv.rc" stop >/dev/null; fi
rm -rf "$ROOT"
export OSERV_ETC_ROOT="$ROOT/etc"
unset OSERV WLOCALHOST OSERV_REGISTRY
echo "== oinstall"
build/bin/oinstall --id oserv --dbdir "$ROOT/db" --hostname localhost --port "$PORT" --force-bind
# shellcheck source=/dev/null
. "$ROOT/etc/oserv/setup_env.sh"
echo "== oserv.rc start"
oserv.rc start
echo "== odadmin"
odadmin
echo "== odadmin odlist"
odadmin odlist
echo
echo "The instance keeps running. Try: . $ROOT/etc/oserv/setup_env.sh; odadmin ior | xargs catior"
echo "Stop it with: $ROOT/etc/oserv/oserv.rc stop"
