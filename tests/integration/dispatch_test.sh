# Objects across a region: ManagedNode objects named at the TMR server (wlookup), calls on an
# OID from any node forwarded to the owner, an installed class whose method program sleeps
# (odstat -c shows run at the owner, rwait at the caller), a failing method, an owner killed
# mid-call, and a task stored at the TMR server run on a managed node.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc oserv start
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
for n in 1 2; do
  ip=127.0.0.$((n + 2))
  expect_code "oinstall mn$n" 0 oinstall --id "mn$n" --managed-node --method-user root --tmr "127.0.0.2:$PORT" \
    --dbdir "$WORK/db/mn$n" --hostname "$ip" --port "$PORT" --force-bind --nosync
  expect_code "start mn$n" 0 rc "mn$n" start --method-timeout 30
done

step "every dispatcher's ManagedNode object is named at the TMR server"
has_three() { [ "$(wlookup --id mn2 -r ManagedNode -a | wc -l)" = 3 ]; }
wait_until 10 has_three || fail "ManagedNode names: $(wlookup --id mn2 -r ManagedNode -a)"
MN1=$(wlookup --id mn2 -r ManagedNode 127.0.0.3) || fail "wlookup: $MN1"
expect_contains "OID form" ".2.1#TMF_ManagedNode::Managed_Node#" "$MN1"
expect_code "unknown name" 1 wlookup -r ManagedNode nosuch

step "a call on an OID from another node is forwarded to its owner"
expect_code "hostname of mn1 from mn2" 0 objcall --id mn2 "$MN1" hostname
expect_eq "answered by mn1" 127.0.0.3 "$OUT"
expect_code "from the TMR server" 0 objcall --id oserv "$MN1" ping
expect_eq "ping" alive "$OUT"
expect_code "unknown method" 1 objcall --id mn2 "$MN1" frobnicate
expect_code "bad OID" 1 objcall "x.y.z" ping
expect_contains "bad OID" "not an object id" "$OUT"

step "an installed class: a sleeping method is run at mn1 and rwait at mn2"
cat >"$WORK/nap.sh" <<'SH'
#!/bin/sh
# OID METHOD SECONDS
echo "napping $3 s as method thread $OSERV_METHOD_THREAD on dispatcher $OSERV_DISPATCHER"
sleep "$3"
echo done
SH
cat >"$WORK/fail.sh" <<'SH'
#!/bin/sh
echo "cannot do $2" >&2
exit 7
SH
chmod +x "$WORK/nap.sh" "$WORK/fail.sh"
expect_code "install nap" 0 wclass --id mn2 method Sleeper nap "$WORK/nap.sh"
expect_code "install fail" 0 wclass --id oserv method Sleeper fail "$WORK/fail.sh"
NAPPER=$(wclass --id mn1 create Sleeper Sleeper napper) || fail "create: $NAPPER"
expect_contains "created on mn1" ".2." "$NAPPER"
objcall --id mn2 "$NAPPER" nap 3 >"$WORK/nap.out" 2>&1 &
caller=$!
BG_PIDS="$BG_PIDS $caller"
running() { odstat --id mn1 -c | grep -q "run .*$NAPPER nap"; }
wait_until 10 running || fail "odstat -c at mn1 does not show nap running: $(odstat --id mn1 -c)"
expect_code "odstat -cv at mn1" 0 odstat --id mn1 -cv
expect_contains "pid shown" "pid=" "$OUT"
expect_code "odstat -c at mn2" 0 odstat --id mn2 -c
expect_contains "caller waits" "rwait" "$OUT"
expect_contains "caller waits on nap" "$NAPPER nap" "$OUT"
wait "$caller"; code=$?
expect_eq "nap exit code" 0 "$code"
expect_contains "nap output" "on dispatcher 2" "$(cat "$WORK/nap.out")"
expect_code "odstat idle" 0 odstat --id mn1 -c
expect_eq "no method threads left" "" "$OUT"

step "concurrent calls forwarded to one node all run at once (none queues behind another)"
# Each call's program marks that it runs, then waits for the release (at most 20 s).
cat >"$WORK/gate.sh" <<'SH'
#!/bin/sh
# OID METHOD DIR
touch "$3/running.$$"
for _ in $(seq 200); do [ -e "$3/release" ] && { echo released; exit 0; }; sleep 0.1; done
exit 9
SH
chmod +x "$WORK/gate.sh"
expect_code "install gate" 0 wclass --id oserv method Sleeper gate "$WORK/gate.sh"
mkdir "$WORK/gate"
GATE_CALLERS=""
for i in $(seq 8); do
  objcall --id mn2 "$NAPPER" gate "$WORK/gate" >"$WORK/gate.out.$i" 2>&1 &
  GATE_CALLERS="$GATE_CALLERS $!"
done
BG_PIDS="$BG_PIDS $GATE_CALLERS"
running_count() { find "$WORK/gate" -name 'running.*' | wc -l; }
all_running() { [ "$(running_count)" = 8 ]; }
wait_until 10 all_running || fail "only $(running_count) of 8 forwarded calls run at once"
touch "$WORK/gate/release"
for p in $GATE_CALLERS; do wait "$p" || fail "a gated call failed: $(cat "$WORK"/gate.out.*)"; done

step "a failing method returns its exit code and output"
expect_code "fail" 7 objcall --id oserv "$NAPPER" fail
expect_contains "fail output" "cannot do fail" "$OUT"

step "an owner killed mid-call: the caller gets an error naming the dispatcher"
objcall --id mn2 "$NAPPER" nap 30 >"$WORK/nap2.out" 2>&1 &
caller=$!
wait_until 10 running || fail "nap did not start"
crash mn1
wait "$caller"; code=$?
expect_eq "caller exit code" 1 "$code"
expect_contains "names the owner" "dispatcher 2 (127.0.0.3, 127.0.0.3:$PORT)" "$(cat "$WORK/nap2.out")"
expect_code "call on a dead owner" 1 objcall --id mn2 "$NAPPER" nap 1
expect_contains "dead owner" "dispatcher 2 (127.0.0.3" "$OUT"

step "a task stored at the TMR server runs on a managed node"
printf 'echo "task on $(cat /proc/sys/kernel/hostname) oid=$OSERV_OID"\nexit 3\n' >"$WORK/task.sh"
expect_code "wtask add" 0 wtask --id oserv add Library whoami "$WORK/task.sh"
expect_code "wtask list from mn2" 0 wtask --id mn2 list Library
expect_eq "task listed" whoami "$OUT"
expect_code "wtask run on mn2" 3 wtask --id oserv run Library whoami 127.0.0.4
expect_contains "ran on mn2" ".3.1#TMF_ManagedNode::Managed_Node#" "$OUT"
expect_code "wtask run on a stopped node" 1 wtask --id oserv run Library whoami 127.0.0.3
expect_contains "stopped node" "dispatcher 2" "$OUT"
echo PASS
