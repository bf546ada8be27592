# Foreground oserv under a supervisor: sd_notify READY=1 on $NOTIFY_SOCKET, SIGTERM and SIGINT
# stop it with exit 0 within its stop deadline, and it cleans up its pid file and socket.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null

for sig in TERM INT; do
  step "foreground start with NOTIFY_SOCKET, then SIG$sig"
  notify=$WORK/notify.sock
  notify_listen "$notify" 20 >"$WORK/notify.out" &
  listener=$!
  BG_PIDS="$BG_PIDS $listener"
  wait_until 10 grep -q listening "$WORK/notify.out" || fail "notify_listen did not start"
  NOTIFY_SOCKET=$notify oserv --id oserv --foreground --stop-timeout 5 2>"$WORK/fg.err" &
  pid=$!
  wait "$listener" || fail "no READY=1 from oserv: $(cat "$WORK/notify.out" "$WORK/fg.err")"
  expect_code "answers once READY=1 was sent" 0 odadmin ping
  expect_eq "pid file holds the foreground pid" "$pid" "$(pid_of oserv)"
  kill -"$sig" "$pid"
  wait "$pid"; code=$?
  expect_eq "exit code after SIG$sig" 0 "$code"
  expect_contains "stderr log" "stopped" "$(cat "$WORK/fg.err")"
  [ ! -e "$OSERV_ETC_ROOT/run/oserv.pid" ] || fail "pid file left after SIG$sig"
  [ ! -e "$OSERV_ETC_ROOT/run/oserv.sock" ] || fail "socket left after SIG$sig"
done

step "a second SIGTERM during the stop does not kill it: one clean stop"
NOTIFY_SOCKET='' oserv --id oserv --foreground 2>"$WORK/fg2.err" &
pid=$!
wait_until 10 odadmin ping || fail "oserv did not come up"
kill -TERM "$pid"; kill -TERM "$pid"; kill -INT "$pid"
wait "$pid"; code=$?
expect_eq "exit code after three stop signals" 0 "$code"
expect_contains "stopped cleanly" "oserv oserv stopped" "$(cat "$WORK/fg2.err")"

step "foreground oserv logs to stderr with the seed's banner"
expect_contains "banner" "TMR " "$(cat "$WORK/fg.err")"
expect_contains "banner" ". ORB 1. TMR server 127.0.0.2:$PORT. Port $PORT." "$(cat "$WORK/fg.err")"
grep -Eq '^[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} [+-][0-9]{2,4}: ' \
  "$WORK/db/oserv/oservlog" || fail "oservlog lines lack the YYYY/MM/DD HH:MM:SS +ZZ prefix"

step "SIGHUP reopens the log (rotation)"
oserv --id oserv --foreground 2>/dev/null &
pid=$!
wait_until 10 odadmin ping || fail "oserv did not come up"
mv "$WORK/db/oserv/oservlog" "$WORK/db/oserv/oservlog.1"
kill -HUP "$pid"
wait_until 10 grep -q "log reopened" "$WORK/db/oserv/oservlog" || fail "no new log after SIGHUP"
expect_code "still answers after HUP" 0 odadmin ping

step "a log that cannot be reopened keeps the oserv running"
mv "$WORK/db/oserv/oservlog" "$WORK/db/oserv/oservlog.2"
mkdir "$WORK/db/oserv/oservlog"
kill -HUP "$pid"
sleep_until_hup_handled() { grep -q "log not reopened" "$WORK/db/oserv/oservlog.2"; }
wait_until 10 sleep_until_hup_handled || fail "a failed reopen was not logged in the old file"
expect_code "still answers after a failed reopen" 0 odadmin ping
kill -TERM "$pid"; wait "$pid"; code=$?
expect_eq "clean stop after a failed reopen" 0 "$code"
rmdir "$WORK/db/oserv/oservlog"

step "a starter that ignores SIGCHLD still gets the start's exit code"
# Dispositions survive exec: some supervisors ignore SIGCHLD. The detached start must still
# report its daemon's failure (here: the instance already runs, 3), never success.
expect_code "start" 0 rc oserv start
expect_code "a second start, SIGCHLD ignored" 3 perl -e '$SIG{CHLD} = "IGNORE"; exec @ARGV' \
  oserv --id oserv
expect_contains "says why" "already running" "$OUT"
expect_code "stop" 0 rc oserv stop
echo PASS
