# oserv.rc start/status/stop/restart and their LSB exit codes, kill -9 recovery, one stop always
# enough (even for an oserv that ignores SIGTERM because it is stopped).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null

step "status of a never-started instance is 3"
expect_code "status" 3 rc oserv status
expect_code "stop when stopped" 0 rc oserv stop

step "start returns 0 and the instance answers"
expect_code "start" 0 rc oserv start
expect_code "status" 0 rc oserv status
expect_code "ping" 0 odadmin --id oserv ping
expect_code "second start" 0 rc oserv start
expect_contains "second start" "already running" "$OUT"

step "setup_env.sh puts oserv.rc and odadmin on PATH"
OUT=$(sh -c ". '$OSERV_ETC_ROOT/oserv/setup_env.sh' && oserv.rc status && odadmin ping" 2>&1) ||
  fail "setup_env.sh: $OUT"
expect_contains "setup_env.sh" "is alive" "$OUT"

step "kill -9: status 1, then start works"
pid=$(pid_of oserv)
kill -KILL "$pid"
wait_until 10 gone "$pid" || fail "oserv $pid survived SIGKILL"
expect_code "status after kill -9" 1 rc oserv status
expect_code "start after kill -9" 0 rc oserv start
[ "$(pid_of oserv)" != "$pid" ] || fail "pid file not rewritten"

step "restart gives a new process"
pid=$(pid_of oserv)
expect_code "restart" 0 rc oserv restart
[ "$(pid_of oserv)" != "$pid" ] || fail "restart kept pid $pid"

step "stop returns 0 only once the process is gone"
pid=$(pid_of oserv)
expect_code "stop" 0 rc oserv stop
gone "$pid" || fail "stop returned while $pid still exists"
expect_code "status after stop" 3 rc oserv status
expect_code "ping after stop" 3 odadmin --id oserv ping

step "one stop is enough for an oserv that does not react to SIGTERM"
expect_code "start" 0 rc oserv start
pid=$(pid_of oserv)
kill -STOP "$pid"
expect_code "stop of a hung oserv" 0 env OSERV_STOP_TIMEOUT=1 "$OSERV_ETC_ROOT/oserv/oserv.rc" stop
expect_contains "stop of a hung oserv" "did not stop within 1 s; it was killed (SIGKILL)" "$OUT"
gone "$pid" || fail "hung oserv $pid survived stop"
expect_code "status" 3 rc oserv status
expect_code "start after forced stop" 0 rc oserv start
expect_code "stop" 0 rc oserv stop

step "a pid file that vanishes or cannot be opened while status looks: no shell error"
# As when the oserv exits between the existence test and the lock probe: the file is there but
# cannot be opened (a Unix socket, here another instance's), which the shell reported on stderr.
install_instance other 127.0.0.3 "$PORT" >/dev/null
expect_code "start other" 0 rc other start
ln -s "$OSERV_ETC_ROOT/run/other.sock" "$OSERV_ETC_ROOT/run/oserv.pid"
expect_code "status of an unreadable pid file" 4 rc oserv status
case $OUT in *"cannot open"*) fail "status printed a shell error: $OUT" ;; esac
rm "$OSERV_ETC_ROOT/run/oserv.pid"
expect_code "stop other" 0 rc other stop
echo PASS
