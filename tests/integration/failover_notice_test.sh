# Failover notice: a start that recovers from an unclean stop (rolled-back transactions, a dead
# owner taken over) logs a failover notice, and one on another physical host after a clean stop
# a switchover notice; both run <ETCDIR>/failover.d hooks with what happened (and which kind) in
# their environment; a clean restart on the same host runs none.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
HOOKS=$OSERV_ETC_ROOT/oserv/failover.d
mkdir -p "$HOOKS"
cat >"$HOOKS/10-record" <<HOOK
#!/bin/sh
env | grep '^OSERV_' | sort >"$WORK/hook.env"
HOOK
chmod +x "$HOOKS/10-record"
LOG=$WORK/db/oserv/oservlog
hook_ran() { [ -s "$WORK/hook.env" ]; }

step "clean starts and stops run no hook"
expect_code "start" 0 rc oserv start
expect_code "restart" 0 rc oserv restart
sleep 0.5  # give a (wrongly) started hook the time to write
[ ! -e "$WORK/hook.env" ] || fail "a hook ran after a clean restart: $(cat "$WORK/hook.env")"

step "kill -9 with an open transaction: the next start runs the hooks"
T=$(odb begin) && odb put "$T" objects o1 v >/dev/null || fail "txn"
[ "$(tmstat -v | sed -n 's/^odb.log: \([0-9]*\) bytes of records.*/\1/p')" -gt 0 ] || fail "journal empty"
PID=$(pid_of oserv)
crash oserv
expect_code "start after the crash" 0 rc oserv start
wait_until 10 hook_ran || fail "no hook ran: $(tail -n 5 "$LOG")"
ENV=$(cat "$WORK/hook.env")
expect_contains "kind" "OSERV_NOTICE=failover" "$ENV"
expect_contains "instance" "OSERV_INSTANCE=oserv" "$ENV"
expect_contains "rolled back ids" "OSERV_ROLLED_BACK={" "$ENV"
expect_contains "stale owner" "OSERV_STALE_OWNER=instance oserv, pid $PID" "$ENV"
expect_contains "reasons" "1 transaction(s) rolled back" "$ENV"
expect_contains "logical host" "OSERV_LOGICAL_HOST=127.0.0.2" "$ENV"
grep -q '\$failover notice: 1 transaction(s) rolled back' "$LOG" || fail "no notice in the log"
grep -q "failover hook $HOOKS/10-record exited 0" "$LOG" || fail "hook exit not logged"

if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  step "a start on another physical host after a clean stop is a switchover notice"
  expect_code "stop" 0 rc oserv stop
  rm -f "$WORK/hook.env"
  expect_code "start on standby" 0 unshare --uts sh -c \
    "hostname standby && '$OSERV_ETC_ROOT/oserv/oserv.rc' start"
  wait_until 10 hook_ran || fail "no hook ran after a host change: $(tail -n 5 "$LOG")"
  ENV=$(cat "$WORK/hook.env")
  expect_contains "previous host" "OSERV_PREVIOUS_HOST=$(hostname)" "$ENV"
  expect_contains "current host" "OSERV_CURRENT_HOST=standby" "$ENV"
  expect_contains "kind" "OSERV_NOTICE=switchover" "$ENV"
  expect_contains "reason" "physical host changed from $(hostname) to standby after a clean stop" "$ENV"
  grep -q '\$switchover notice: physical host changed' "$LOG" || fail "no switchover notice in the log"
fi
expect_code "stop" 0 rc oserv stop
echo PASS
