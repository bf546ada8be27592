# Without force bind, a second oserv on a taken port logs "port N: In use. Waiting..." at the
# configured interval, then gives up with exit 4 naming the port; it starts once the port frees.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
install_instance oserv1 127.0.0.3 "$PORT" >/dev/null

expect_code "start oserv (all addresses)" 0 rc oserv start
OUT=$(odadmin --id oserv) || fail "$OUT"
expect_contains "oserv binds all addresses" "Listening on = *:$PORT" "$OUT"

step "second instance waits, then fails naming the port"
expect_code "second start" 4 oserv --id oserv1 --bind-wait-interval 1 --bind-timeout 3
expect_contains "error names the port" "port $PORT" "$OUT"
expect_contains "wait was logged" "port $PORT: In use. Waiting..." "$OUT"
waits=$(grep -c "port $PORT: In use. Waiting..." "$WORK/db/oserv1/oservlog")
[ "$waits" -ge 2 ] || fail "expected repeated wait lines in oservlog, got $waits"
expect_code "oserv1 not running" 3 rc oserv1 status

step "SIGTERM during the wait stops the start cleanly (exit 0), at once"
oserv --id oserv1 --foreground --bind-wait-interval 1 --bind-timeout 60 2>"$WORK/fg.err" &
waiter=$!
BG_PIDS="$BG_PIDS $waiter"
waiting() { grep -q "port $PORT: In use. Waiting..." "$WORK/fg.err"; }
wait_until 10 waiting || fail "the foreground start did not wait on the port"
kill -TERM "$waiter"
ended() { gone "$waiter"; }
wait_until 5 ended || fail "SIGTERM did not end the port wait within 5 s"
wait "$waiter"; code=$?
expect_eq "exit code after SIGTERM in the port wait" 0 "$code"
expect_contains "logged" "stopping (SIGTERM) before it was ready" "$(cat "$WORK/fg.err")"
[ ! -e "$OSERV_ETC_ROOT/run/oserv1.pid" ] || fail "pid file left after a stopped start"

step "a waiting instance starts once the port is released"
count_waits() { grep -c "port $PORT: In use. Waiting..." "$WORK/db/oserv1/oservlog"; }
before=$(count_waits)
oserv --id oserv1 --bind-wait-interval 1 --bind-timeout 60 >"$WORK/wait.out" 2>&1 &
waiter=$!
BG_PIDS="$BG_PIDS $waiter"
waited_twice() { [ "$(count_waits)" -ge $((before + 2)) ]; }
wait_until 20 waited_twice || fail "the second start did not wait on the port"
expect_code "oserv1 not yet up" 3 odadmin --id oserv1 --timeout 2 ping
expect_code "stop oserv" 0 rc oserv stop
wait "$waiter"; code=$?
expect_eq "waiting start exit code" 0 "$code"
expect_code "oserv1 answers" 0 odadmin --id oserv1 ping
expect_code "stop oserv1" 0 rc oserv1 stop
echo PASS
