# The supervisor examples in ha/, run by the real supervisors: supervisord and runit start
# oserv in the foreground, restart it after a crash, and stop it cleanly (exit 0); the systemd
# template unit passes systemd-analyze verify.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
HA=$(cd "$(dirname "$0")/../../ha" && pwd)
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
ran=0

if command -v systemd-analyze >/dev/null; then
  step "systemd: oserv@.service verifies"
  mkdir -p "$WORK/systemd"
  sed "s|/usr/local/bin/oserv|$BIN/oserv|" "$HA/systemd/oserv@.service" \
    >"$WORK/systemd/oserv@oserv.service"
  expect_code "systemd-analyze verify" 0 systemd-analyze verify "$WORK/systemd/oserv@oserv.service"
  grep -q "^Type=notify" "$WORK/systemd/oserv@oserv.service" || fail "the unit is not Type=notify"
  ran=$((ran + 1))
fi

restarted_after_crash() {  # restarted_after_crash WHAT: kill -9 the oserv, wait for a new one
  old=$(pid_of oserv)
  kill -KILL "$old"
  new_one() { [ -e "$OSERV_ETC_ROOT/run/oserv.pid" ] && [ "$(pid_of oserv)" != "$old" ] &&
    odadmin ping >/dev/null 2>&1; }
  wait_until 30 new_one || fail "$1 did not restart oserv after kill -9"
}

if command -v supervisord >/dev/null; then
  step "supervisord: start, crash and restart, clean stop"
  conf=$WORK/supervisord.conf
  cat >"$conf" <<CONF
[unix_http_server]
file=$WORK/supervisor.sock
[supervisord]
logfile=$WORK/supervisord.log
pidfile=$WORK/supervisord.pid
childlogdir=$WORK
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$WORK/supervisor.sock
CONF
  sed -e "s|/usr/local/bin/oserv|$BIN/oserv|" -e "s|/etc/Tivoli|$OSERV_ETC_ROOT|" \
    -e "s|/var/log/supervisor|$WORK|" "$HA/supervisord/openoserv.conf" >>"$conf"
  supervisord -c "$conf" || fail "supervisord did not start"
  ctl() { supervisorctl -c "$conf" "$@"; }
  running() { ctl status oserv | grep -q RUNNING && odadmin ping >/dev/null 2>&1; }
  wait_until 30 running || fail "supervisord did not start oserv: $(ctl status oserv)"
  restarted_after_crash supervisord
  wait_until 30 running || fail "oserv not RUNNING again: $(ctl status oserv)"
  expect_code "supervisorctl stop" 0 ctl stop oserv
  expect_contains "stopped" "stopped" "$OUT"
  [ ! -e "$OSERV_ETC_ROOT/run/oserv.pid" ] || fail "pid file left by a supervisord stop"
  grep -q "stopped: oserv (exit status 0)" "$WORK/supervisord.log" ||
    fail "oserv did not exit 0 under supervisord: $(tail -n 3 "$WORK/supervisord.log")"
  SUPERVISORD=$(cat "$WORK/supervisord.pid")
  ctl shutdown >/dev/null
  wait_until 10 gone "$SUPERVISORD" || fail "supervisord did not shut down"
  ran=$((ran + 1))
fi

if command -v runsv >/dev/null; then
  step "runit: start, crash and restart, clean stop"
  cp -r "$HA/runit/oserv" "$WORK/runit-oserv"
  sed -i "s|/usr/local/bin/oserv|$BIN/oserv|" "$WORK/runit-oserv/run"
  export OSERV_FINISH_LOG=$WORK/runit-finish.log
  runsv "$WORK/runit-oserv" &
  BG_PIDS="$BG_PIDS $!"
  up() { sv status "$WORK/runit-oserv" | grep -q "^run:" && odadmin ping >/dev/null 2>&1; }
  wait_until 30 up || fail "runsv did not start oserv: $(sv status "$WORK/runit-oserv")"
  restarted_after_crash runsv
  grep -q "code -1, signal 9" "$OSERV_FINISH_LOG" || fail "finish did not log the crash"
  PID=$(pid_of oserv)
  expect_code "sv down" 0 sv -w 30 down "$WORK/runit-oserv"
  gone "$PID" || fail "oserv $PID still runs after sv down"
  tail -n 1 "$OSERV_FINISH_LOG" | grep -q "code 0, signal" || fail "oserv did not exit 0: $(tail -n 1 "$OSERV_FINISH_LOG")"
  sv exit "$WORK/runit-oserv" >/dev/null
  ran=$((ran + 1))
fi

[ $ran -gt 0 ] || { echo "SKIP: none of systemd-analyze, supervisord, runsv is installed"; exit 77; }
echo PASS
