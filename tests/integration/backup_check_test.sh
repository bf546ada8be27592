# wbkupdb (online, committed state only), wchkdb (offline, dangling references), and the log
# line for a database taken over from an owner that died.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
LOG=$WORK/db/oserv/oservlog
expect_code "start" 0 rc oserv start

T=$(odb begin) && odb put "$T" objects o1 committed >/dev/null && odb commit "$T" || fail "setup"
T=$(odb begin) && odb put "$T" objects o1 in-flight >/dev/null || fail "open txn"

step "online backup leaves the open transaction out"
expect_code "wbkupdb" 0 wbkupdb "$WORK/backup"
expect_contains "wbkupdb" "1 open transaction(s) left out" "$OUT"
expect_code "wbkupdb into a used directory" 1 wbkupdb "$WORK/backup"
expect_contains "used directory" "not empty" "$OUT"
expect_code "commit" 0 odb commit "$T"
BPORT=$(free_port)
expect_code "start on the backup" 0 oserv --id bk --dbdir "$WORK/backup" --hostname 127.0.0.2 \
  --port "$BPORT"
T=$(odb --id bk begin) || fail "begin on backup"
expect_code "value in the backup" 0 odb --id bk get "$T" objects o1
expect_eq "backup holds the committed value" committed "$OUT"
expect_code "abort" 0 odb --id bk abort "$T"
kill -TERM "$(pid_of bk)"

step "wchkdb refuses a database in use, then finds dangling references"
expect_code "wchkdb while running" 3 wchkdb --id oserv
expect_contains "wchkdb while running" "in use" "$OUT"
T=$(odb begin) && odb put "$T" objects 1.1.5 obj >/dev/null &&
  odb put "$T" attributes 1.1.5/label ok >/dev/null &&
  odb put "$T" attributes 1.1.9/label dangling >/dev/null &&
  odb put "$T" names ManagedNode/black 1.1.7 >/dev/null && odb commit "$T" || fail "setup 2"
expect_code "stop" 0 rc oserv stop
expect_code "wchkdb" 1 wchkdb --id oserv
expect_contains "dangling attribute" "attribute 1.1.9/label belongs to object 1.1.9" "$OUT"
expect_contains "dangling name" "name ManagedNode/black refers to object 1.1.7" "$OUT"
expect_contains "count" "2 problem(s)" "$OUT"
expect_code "wchkdb of the clean backup" 0 wchkdb --dbdir "$WORK/backup"

step "a start after kill -9 logs the takeover from the dead owner; a clean one does not"
expect_code "start" 0 rc oserv start
PID=$(pid_of oserv)
crash oserv
expect_code "start after kill -9" 0 rc oserv start
grep -q "not closed cleanly by its last owner (instance oserv, pid $PID," "$LOG" ||
  fail "takeover not logged: $(tail -n 5 "$LOG")"
expect_code "stop" 0 rc oserv stop
before=$(grep -c "not closed cleanly" "$LOG")
expect_code "start after a clean stop" 0 rc oserv start
expect_eq "no takeover after a clean stop" "$before" "$(grep -c "not closed cleanly" "$LOG")"
expect_code "stop" 0 rc oserv stop
echo PASS
