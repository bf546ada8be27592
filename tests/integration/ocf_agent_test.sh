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
before=$(date +%s%N)
expect_code "stop of a hung oserv" 0 env OCF_RESKEY_CRM_meta_timeout=7000 "$AGENT" stop
took=$((($(date +%s%N) - before) / 1000000))
[ "$took" -lt 7000 ] || fail "the stop took $took ms of its 7000 ms timeout"
gone "$PID" || fail "stop returned while $PID exists"
expect_code "monitor after stop" 7 agent monitor
expect_code "start" 0 agent start
crash oserv
expect_code "monitor after kill -9" 7 agent monitor
expect_code "stop after kill -9" 0 agent stop
expect_code "start again" 0 agent start
PID=$(pid_of oserv)
kill -STOP "$PID"
before=$(date +%s%N)
expect_code "stop of a hung oserv, 60 s timeout, --stop-timeout 1" 0 env \
  OCF_RESKEY_CRM_meta_timeout=60000 OCF_RESKEY_options="--stop-timeout 1" "$AGENT" stop
took=$((($(date +%s%N) - before) / 1000000))
# Killed once its own stop timeout has passed by 5 s, not 48 s into the cluster's 60 s.
[ "$took" -lt 15000 ] || fail "the stop of a hung oserv took $took ms"
gone "$PID" || fail "stop returned while $PID exists"

step "validate-all and the probe: node-local problems are 5, bad parameters 6"
expect_code "instance not configured on this node" 5 env OCF_RESKEY_instance=nosuch "$AGENT" validate-all
expect_contains "says where" "not in $OSERV_ETC_ROOT/instances on this node" "$OUT"
expect_code "start where it is not configured" 5 env OCF_RESKEY_instance=nosuch "$AGENT" start
expect_code "probe where it is not configured" 7 env OCF_RESKEY_instance=nosuch \
  OCF_RESKEY_CRM_meta_interval=0 "$AGENT" monitor
expect_code "stop where it is not configured" 0 env OCF_RESKEY_instance=nosuch "$AGENT" stop
mv "$OSERV_ETC_ROOT/instances" "$OSERV_ETC_ROOT/instances.away"
expect_code "probe with the instances file missing" 7 env OCF_RESKEY_CRM_meta_interval=0 "$AGENT" monitor
expect_code "stop with the instances file missing" 0 agent stop
mv "$OSERV_ETC_ROOT/instances.away" "$OSERV_ETC_ROOT/instances"
expect_code "non-numeric ping_timeout" 6 env OCF_RESKEY_ping_timeout=soon "$AGENT" validate-all
expect_contains "says which" "ping_timeout must be a whole number" "$OUT"
expect_code "zero max_method_seconds" 6 env OCF_RESKEY_max_method_seconds=0 "$AGENT" monitor
expect_code "no binaries" 5 env OCF_RESKEY_bindir=/nonexistent "$AGENT" validate-all
expect_code "probe without binaries" 7 env OCF_RESKEY_bindir=/nonexistent \
  OCF_RESKEY_CRM_meta_interval=0 "$AGENT" monitor
expect_code "stop without binaries" 0 env OCF_RESKEY_bindir=/nonexistent "$AGENT" stop

step "a failed start's reason begins with the cause"
expect_code "start" 0 agent start
PID=$(pid_of oserv)
rm -f "$OSERV_ETC_ROOT/run/oserv.pid"  # as if a second node's oserv: the database is owned
expect_code "start on an owned database" 1 agent start
expect_contains "owner first" "ocf-exit-reason:oserv: database in use by another oserv (instance oserv, pid $PID" "$OUT"
kill "$PID"
wait_until 10 gone "$PID" || fail "oserv $PID did not stop"

step "an oserv that dies during its start fails the start at once"
# A bin directory whose oserv starts the real one and kills it before the agent's first monitor.
mkdir -p "$WORK/dying/bin" "$WORK/dying/share/openoserv"
ln -s "$BIN/odadmin" "$WORK/dying/bin/odadmin"
ln -s "$BIN/../share/openoserv/oserv-status.sh" "$WORK/dying/share/openoserv/oserv-status.sh"
cat >"$WORK/dying/bin/oserv" <<SH
#!/bin/sh
"$BIN/oserv" "\$@" || exit \$?
kill -KILL "\$(head -n1 '$OSERV_ETC_ROOT/run/oserv.pid')"
SH
chmod +x "$WORK/dying/bin/oserv"
expect_code "start that dies" 1 timeout 60 env OCF_RESKEY_bindir="$WORK/dying/bin" "$AGENT" start
expect_contains "says so" "ocf-exit-reason:oserv oserv exited during its start" "$OUT"
expect_code "stop after it" 0 agent stop

step "ocft (resource-agents' agent test tool): the same contract case by case"
if command -v ocft >/dev/null; then
  mkdir -p "$WORK/ocft"
  cat >"$WORK/ocft/oserv" <<CFG
# oserv

CONFIG
	Agent oserv
	AgentRoot $(dirname "$AGENT")
	HangTimeout 30

CASE-BLOCK required_args
	Env OCF_RESKEY_instance=oserv
	Env OCF_RESKEY_etc_root=$OSERV_ETC_ROOT
	Env OCF_RESKEY_bindir=$BIN

CASE-BLOCK default_status
	AgentRun stop

CASE-BLOCK prepare
	Include required_args
	Include default_status

CASE "start, monitor, stop"
	Include prepare
	AgentRun start OCF_SUCCESS
	AgentRun monitor OCF_SUCCESS
	AgentRun stop OCF_SUCCESS
	AgentRun monitor OCF_NOT_RUNNING

CASE "start twice, stop twice"
	Include prepare
	AgentRun start OCF_SUCCESS
	AgentRun start OCF_SUCCESS
	AgentRun stop OCF_SUCCESS
	AgentRun stop OCF_SUCCESS

CASE "probe where the instance is not configured"
	Include prepare
	Env OCF_RESKEY_instance=nosuch
	Env OCF_RESKEY_CRM_meta_interval=0
	AgentRun monitor OCF_NOT_RUNNING
	AgentRun stop OCF_SUCCESS

CASE "start where the instance is not configured"
	Include prepare
	Env OCF_RESKEY_instance=nosuch
	AgentRun start OCF_ERR_INSTALLED

CASE "missing instance parameter"
	Include prepare
	Unenv OCF_RESKEY_instance
	AgentRun start OCF_ERR_CONFIGURED

CASE "bad ping_timeout"
	Include prepare
	Env OCF_RESKEY_ping_timeout=soon
	AgentRun start OCF_ERR_CONFIGURED

CASE "programs missing"
	Include prepare
	Env OCF_RESKEY_bindir=/nonexistent
	AgentRun start OCF_ERR_INSTALLED
	AgentRun monitor OCF_NOT_RUNNING
	AgentRun stop OCF_SUCCESS
CFG
  ocft make -d "$WORK/ocft" oserv >"$WORK/ocft.make" 2>&1 || fail "ocft make: $(cat "$WORK/ocft.make")"
  ocft test oserv >"$WORK/ocft.out" 2>&1
  ocft clean oserv >/dev/null 2>&1
  cat "$WORK/ocft.out"
  grep -q "ERROR" "$WORK/ocft.out" && fail "ocft found a case that failed"
  grep -q "start where the instance is not configured" "$WORK/ocft.out" || fail "ocft ran no case"
else
  echo "ocft not installed; skipped"
fi

expect_code "meta-data as nobody" 0 su nobody -s /bin/sh -c "OCF_ROOT=/usr/lib/ocf $AGENT meta-data"
expect_contains "meta-data" '<resource-agent name="oserv"' "$OUT"
echo PASS
