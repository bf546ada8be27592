# Method programs that misbehave: one that leaves a child holding its output open ends when it
# exits; one that ignores SIGTERM is ended at --method-timeout (SIGTERM, then SIGKILL of its
# process group) and at a stop; one left running by a killed oserv is ended at the next start.
# Programs get no descriptor of the oserv's. odstat shows no method thread afterwards.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
expect_code "start" 0 rc oserv start --method-timeout 2
cat >"$WORK/detach.sh" <<SH
#!/bin/sh
sleep 60 &
echo \$! >"$WORK/child.pid"
echo "left a child"
SH
cat >"$WORK/stubborn.sh" <<SH
#!/bin/sh
trap '' TERM
echo \$\$ >"$WORK/stubborn.pid"
sleep 300
SH
cat >"$WORK/fds.sh" <<'SH'
#!/bin/sh
exec ls /proc/self/fd
SH
chmod +x "$WORK"/*.sh
for m in detach stubborn fds; do
  expect_code "install $m" 0 wclass --id oserv method Prog "$m" "$WORK/$m.sh"
done
OBJ=$(wclass --id oserv create Prog Prog p1) || fail "create: $OBJ"
no_threads() { [ -z "$(transient_threads oserv)" ]; }
alive() { ! gone "$1"; }

step "a program that leaves a child holding its output ends the call when it exits"
expect_code "detach" 0 objcall --id oserv --timeout 10 "$OBJ" detach
expect_eq "its output" "left a child" "$OUT"
wait_until 5 no_threads || fail "method thread left: $(odstat --id oserv -c)"
CHILD=$(cat "$WORK/child.pid")
alive "$CHILD" || fail "the child of a program that exited normally was killed"
kill "$CHILD"

step "only the standard descriptors are open in a program"
expect_code "fds" 0 objcall --id oserv "$OBJ" fds
expect_eq "descriptors of ls (3: the directory it lists)" "$(printf '0\n1\n2\n3')" "$OUT"

step "a program that ignores SIGTERM is ended at --method-timeout"
expect_code "stubborn" 1 objcall --id oserv --timeout 20 "$OBJ" stubborn
expect_contains "names the limit" "did not finish within 2 s (--method-timeout)" "$OUT"
expect_contains "says how" "SIGTERM, then SIGKILL" "$OUT"
gone "$(cat "$WORK/stubborn.pid")" || fail "the stubborn program survived"
wait_until 5 no_threads || fail "method thread left: $(odstat --id oserv -c)"

step "a stop ends a program that ignores SIGTERM"
expect_code "restart with a long limit" 0 rc oserv restart --method-timeout 600
rm -f "$WORK/stubborn.pid"
objcall --id oserv --timeout 60 "$OBJ" stubborn >"$WORK/stop.out" 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_until 10 test -s "$WORK/stubborn.pid" || fail "stubborn did not start"
STUBBORN=$(cat "$WORK/stubborn.pid")
expect_code "stop" 0 rc oserv stop
gone "$STUBBORN" || fail "the stop left the stubborn program running"
expect_contains "logged" "oserv oserv stopped" "$(cat "$WORK/db/oserv/oservlog")"

step "a program left by a killed oserv is ended at the next start"
expect_code "start" 0 rc oserv start --method-timeout 600
rm -f "$WORK/stubborn.pid"
objcall --id oserv --timeout 60 "$OBJ" stubborn >/dev/null 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_until 10 test -s "$WORK/stubborn.pid" || fail "stubborn did not start"
STUBBORN=$(cat "$WORK/stubborn.pid")
crash oserv
alive "$STUBBORN" || fail "kill -9 of the oserv took the program with it; nothing to test"
expect_code "start after the crash" 0 rc oserv start
gone "$STUBBORN" || fail "the program left by the killed oserv still runs"
expect_contains "logged" "method program $STUBBORN (process group $STUBBORN) left running by a previous oserv was ended (SIGTERM, then SIGKILL)" "$(cat "$WORK/db/oserv/oservlog")"
expect_code "a fresh oserv's program is not touched by the next start" 0 objcall --id oserv "$OBJ" fds
echo PASS
