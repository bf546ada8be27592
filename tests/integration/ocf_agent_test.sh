# The OCF resource agent ha/ocf/oserv: ocf-tester (Debian resource-agents) passes, and each
# action returns the OCF code a cluster manager relies on, the deep monitor included.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
AGENT=$(cd "$(dirname "$0")/../../ha/ocf" && pwd)/oserv
if [ "$(id -u)" != 0 ] || ! command -v ocf-tester >/dev/null; then
  echo "SKIP: ocf-tester needs root and the resource-agents package"
  exit 77
fi
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=oo OCF_RESKEY_instance=oserv \
  OCF_RESKEY_etc_root="$OSERV_ETC_ROOT" OCF_RESKEY_bindir="$BIN"
agent() { "$AGENT" "$@"; }

step "ocf-tester"
expect_code "ocf-tester" 0 ocf-tester -n oo -o instance=oserv -o etc_root="$OSERV_ETC_ROOT" \
  -o bindir="$BIN" "$AGENT"
expect_contains "ocf-tester" "passed all tests" "$OUT"

step "actions and their codes"
expect_code "monitor stopped" 7 agent monitor
expect_code "stop stopped" 0 agent stop
expect_code "start" 0 agent start
expect_code "monitor" 0 agent monitor
expect_code "start started" 0 agent start
expect_code "deep monitor" 0 env OCF_CHECK_LEVEL=10 "$AGENT" monitor

step "the deep monitor fails on a method thread stuck past max_method_seconds"
cat >"$WORK/slow.sh" <<'SH'
#!/bin/sh
sleep 20
SH
chmod +x "$WORK/slow.sh"
wclass method Slow crawl "$WORK/slow.sh" >/dev/null || fail "wclass method"
SLOW=$(wclass create Slow Slow snail) || fail "wclass create: $SLOW"
objcall "$SLOW" crawl >/dev/null 2>&1 &
BG_PIDS="$BG_PIDS $!"
stuck() { env OCF_CHECK_LEVEL=10 OCF_RESKEY_max_method_seconds=1 "$AGENT" monitor; [ $? = 1 ]; }
wait_until 10 stuck || fail "the deep monitor did not fail on a stuck method thread"
expect_code "shallow monitor still passes" 0 agent monitor
expect_code "odadmin health" 1 odadmin health 1
expect_contains "health names the thread" "crawl" "$OUT"

step "stop escalates and always succeeds; a crashed instance is not running"
PID=$(pid_of oserv)
kill -STOP "$PID"
expect_code "stop of a hung oserv" 0 env OCF_RESKEY_CRM_meta_timeout=7000 "$AGENT" stop
gone "$PID" || fail "stop returned while $PID exists"
expect_code "monitor after stop" 7 agent monitor
expect_code "start" 0 agent start
crash oserv
expect_code "monitor after kill -9" 7 agent monitor
expect_code "stop after kill -9" 0 agent stop

step "validate-all and the probe"
expect_code "unknown instance" 6 env OCF_RESKEY_instance=nosuch "$AGENT" validate-all
expect_code "no binaries" 5 env OCF_RESKEY_bindir=/nonexistent "$AGENT" validate-all
expect_code "probe without binaries" 7 env OCF_RESKEY_bindir=/nonexistent \
  OCF_RESKEY_CRM_meta_interval=0 "$AGENT" monitor
expect_code "meta-data as nobody" 0 su nobody -s /bin/sh -c "OCF_ROOT=/usr/lib/ocf $AGENT meta-data"
expect_contains "meta-data" '<resource-agent name="oserv"' "$OUT"
echo PASS
