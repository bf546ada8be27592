# Security for local callers: an OS user other than root has the roles of the administrator its
# login maps to, and nothing else. Every operation of the access table is called (one list:
# domain/Access.cc) as a user with no administrator, then with the user role, and exactly the
# operations the table denies are refused with NO_PERMISSION; a refused odlist edit, shutdown or
# script changes nothing, and each refusal is in the audit log (up to its limit: a caller
# hammering refused calls gets bursts of 200 lines, then 5 a second). Administrators made at
# the TMR server reach a managed node, which then applies them to its own local callers. Root
# only (it runs commands as the user nobody).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
  echo "SKIP: needs root and setpriv (to call as another user)"
  exit 77
fi
PORT=$(free_port)
TEST_METHOD_USER=nobody  # oinstall's default: method programs run unprivileged
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
chmod 755 "$WORK"  # mktemp's 0700 would keep other users from the sockets under it
expect_code "start the TMR server" 0 rc oserv start
install_instance mn1 127.0.0.3 "$PORT" --force-bind --managed-node --tmr "127.0.0.2:$PORT" >/dev/null
expect_code "start the managed node" 0 rc mn1 start
AUDIT=$WORK/db/oserv/audit.log
SOCK=$OSERV_ETC_ROOT/run/oserv.sock
URL="corbaloc:omniunix:$SOCK:/Dispatcher"
# as_nobody COMMAND...: runs COMMAND as the user nobody (its own environment kept).
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

step "the TMR server's install founds the region CA: files 0600 beside the database"
SSL=$WORK/db/oserv/ssl
[ "$(stat -c %a "$SSL")" = 700 ] || fail "$SSL is $(stat -c %a "$SSL"), not 700"
for f in ca.pem ca.key self.pem self.key; do
  [ "$(stat -c %a "$SSL/$f")" = 600 ] || fail "$SSL/$f is $(stat -c %a "$SSL/$f"), not 600"
done
if command -v openssl >/dev/null; then
  expect_code "openssl verifies the dispatcher's certificate" 0 \
    openssl verify -CAfile "$SSL/ca.pem" "$SSL/self.pem"
  expect_contains "named as dispatcher 1" "CN = od1.region" \
    "$(openssl x509 -in "$SSL/self.pem" -noout -subject)"
fi

step "a local user without an administrator may only ping and ask who it is"
expect_code "wgetadmin as nobody" 0 as_nobody "$BIN/wgetadmin" --id oserv
expect_eq "whoami" "nobody (uid 65534, local): none" "$OUT"
expect_code "ping as nobody" 0 as_nobody "$BIN/odadmin" --id oserv ping
expect_code "odlist as nobody" 1 as_nobody "$BIN/odadmin" --id oserv odlist
expect_contains "refusal names the caller" "permission denied by oserv instance oserv" "$OUT"
expect_contains "and its roles" "you are nobody (uid 65534, local): none" "$OUT"
expect_code "every operation, no role" 0 as_nobody "$BIN/call_operations" "$URL" none
expect_contains "refusals counted" "mismatches" "$OUT"

step "what nobody may not do is not done"
ODLIST=$(odadmin --id oserv odlist) || fail "odlist as root"
expect_code "change_ip as nobody" 1 as_nobody "$BIN/odadmin" --id oserv odlist change_ip 1 127.0.0.9 TRUE
expect_code "shutdown as nobody" 1 as_nobody "$BIN/odadmin" --id oserv shutdown 1
expect_code "still running" 0 odadmin --id oserv ping
expect_eq "odlist unchanged" "$ODLIST" "$(odadmin --id oserv odlist)"
NODE=$(wlookup --id oserv -r ManagedNode 127.0.0.3) || fail "wlookup"
expect_code "run_script as nobody" 1 as_nobody "$BIN/idlcall" --id oserv "$NODE" run_script "touch $WORK/ran"
[ ! -e "$WORK/ran" ] || fail "a refused script ran"
grep -q "refused shutdown by nobody (uid 65534, local)" "$AUDIT" || fail "no refusal in $AUDIT"
[ "$(stat -c %a "$AUDIT")" = 600 ] || fail "audit.log is $(stat -c %a "$AUDIT"), not 600"

step "root makes nobody an administrator with the user role"
expect_code "wgetadmin as root" 0 wgetadmin --id oserv
expect_contains "root" "administrator root: super:senior:admin:user:backup" "$OUT"
expect_code "wcrtadmin" 0 wcrtadmin --id oserv -r global,user -l nobody Watcher
expect_eq "created" "Administrator Watcher created: roles user." "$OUT"
expect_code "wcrtadmin twice" 1 wcrtadmin --id oserv -r user Watcher
expect_code "a bad role" 2 wcrtadmin --id oserv -r overlord Other
expect_code "odlist as Watcher" 0 as_nobody "$BIN/odadmin" --id oserv odlist
expect_code "every operation, user" 0 as_nobody "$BIN/call_operations" "$URL" user
expect_code "shutdown still refused" 1 as_nobody "$BIN/odadmin" --id oserv shutdown 1
expect_contains "named" "administrator Watcher: user" "$OUT"
expect_code "wcrtadmin as Watcher" 1 as_nobody "$BIN/wcrtadmin" --id oserv -r super -l daemon Evil
grep -q "wcrtadmin\|set_administrator by root" "$AUDIT" || fail "administrator edit not audited"

step "the administrator reaches the managed node"
node_knows() { as_nobody "$BIN/wgetadmin" --id mn1 | grep -q "administrator Watcher: user"; }
wait_until 10 node_knows || fail "mn1 does not know Watcher: $(as_nobody "$BIN/wgetadmin" --id mn1 2>&1)"
expect_code "odlist at mn1 as Watcher" 0 as_nobody "$BIN/odadmin" --id mn1 odlist

step "admin role: nobody may run a script; wsetadmin and wdeladmin"
expect_code "wsetadmin" 0 wsetadmin --id mn1 -r admin Watcher
wait_until 10 sh -c "setpriv --reuid=nobody --regid=nogroup --clear-groups -- '$BIN/wgetadmin' --id oserv | grep -q ': admin'" ||
  fail "the change made at mn1 did not reach the TMR server"
expect_code "run_script as Watcher (admin)" 0 as_nobody "$BIN/idlcall" --id oserv "$NODE" run_script 'echo ran as $(id -u) for $OSERV_CALLER'
expect_contains "runs unprivileged, told who asked" \
  "ran as $(id -u nobody) for nobody (uid 65534, local), administrator Watcher" "$OUT"
expect_code "a script run by root runs as the method account too" 0 idlcall --id oserv "$NODE" run_script 'id -u'
expect_eq "method account" "$(id -u nobody)" "$OUT"
grep -q "^.*: run_script by root (uid 0, local), administrator root via " "$AUDIT" || fail "run_script not audited"
step "invoke is audited as its method: a program or run_script yes, a built-in ping no"
expect_code "ping through invoke" 0 objcall --id oserv "$NODE" ping
expect_code "run_script through invoke" 0 objcall --id oserv "$NODE" run_script true
grep -q "invoke by root (uid 0, local), administrator root via .*: run_script on $NODE" "$AUDIT" ||
  fail "run_script through invoke not audited: $(tail -n 3 "$AUDIT")"
! grep -q ": ping on $NODE" "$AUDIT" || fail "a ping through invoke was audited"
expect_code "odadmin method_user" 0 odadmin --id oserv method_user
expect_eq "default method account" nobody "$OUT"
expect_code "set_method_user as Watcher" 1 as_nobody "$BIN/odadmin" --id oserv method_user root
expect_code "set_method_user to no user" 1 odadmin --id oserv method_user no-such-user
expect_code "wtask create a library (root)" 0 wtask --id oserv add Library t0 /dev/null
echo 'echo task' >"$WORK/t.sh"
chmod 644 "$WORK/t.sh"
expect_code "add_task through invoke as admin" 1 as_nobody "$BIN/wtask" --id oserv add Library t1 "$WORK/t.sh"
grep -q "refused invoke by nobody (uid 65534, local), administrator Watcher via .*: add_task needs the senior role" "$AUDIT" ||
  fail "generic invoke of add_task not refused in the audit log: $(tail -n 3 "$AUDIT")"

step "backup role: a backup only into the instance's backup directory"
expect_code "wbkupdb as admin" 1 as_nobody "$BIN/wbkupdb" --id oserv "$WORK/db/backups/b0"
expect_code "wsetadmin backup" 0 wsetadmin --id oserv -r backup Watcher
wait_until 10 sh -c "setpriv --reuid=nobody --regid=nogroup --clear-groups -- '$BIN/wgetadmin' --id oserv | grep -q ': backup'" ||
  fail "Watcher is not backup"
expect_code "wbkupdb elsewhere" 1 as_nobody "$BIN/wbkupdb" --id oserv "$WORK/elsewhere"
expect_contains "says where" "outside the instance's backup directory $WORK/db/backups" "$OUT"
[ ! -e "$WORK/elsewhere" ] || fail "a refused backup wrote $WORK/elsewhere"
expect_code "wbkupdb ../ escape" 1 as_nobody "$BIN/wbkupdb" --id oserv "$WORK/db/backups/../../x"
expect_code "wbkupdb into backups" 0 as_nobody "$BIN/wbkupdb" --id oserv "$WORK/db/backups/b1"
[ -s "$WORK/db/backups/b1/data.mdb" ] || fail "no backup in $WORK/db/backups/b1"

step "a transaction is its owner's: even a super administrator cannot touch root's"
expect_code "odb without the super role" 1 as_nobody "$BIN/odb" --id oserv begin
expect_contains "raw database access is super's" "txn_begin needs the super role" "$(tail -n 1 "$AUDIT")"
expect_code "wsetadmin super" 0 wsetadmin --id oserv -r super Watcher
wait_until 10 sh -c "setpriv --reuid=nobody --regid=nogroup --clear-groups -- '$BIN/wgetadmin' --id oserv | grep -q ': super'" ||
  fail "Watcher is not super"
T=$(odb --id oserv begin) || fail "odb begin as root"
odb --id oserv put "$T" objects secret root >/dev/null || fail "odb put"
expect_code "abort root's transaction as Watcher" 1 as_nobody "$BIN/odb" --id oserv abort "$T"
expect_contains "names the owner" "belongs to root (uid 0, local)" "$OUT"
expect_code "put into it as Watcher" 1 as_nobody "$BIN/odb" --id oserv put "$T" objects secret x
expect_code "guess the next handle" 1 as_nobody "$BIN/odb" --id oserv abort "$((T + 1))"
expect_code "tmstat's ID is no handle" 2 as_nobody "$BIN/odb" --id oserv abort "{1:1,1:1,1:1}"
T2=$(as_nobody "$BIN/odb" --id oserv begin) || fail "odb begin as Watcher"
expect_code "root cannot use Watcher's" 1 odb --id oserv commit "$T2"
expect_code "Watcher commits its own" 0 as_nobody "$BIN/odb" --id oserv abort "$T2"
expect_code "root commits its own" 0 odb --id oserv commit "$T"
expect_code "wgetadmin --all" 0 wgetadmin --id oserv --all
expect_contains "listed" "Administrator: Watcher" "$OUT"
expect_code "wdeladmin" 0 wdeladmin --id oserv Watcher
expect_code "odlist after wdeladmin" 1 as_nobody "$BIN/odadmin" --id oserv odlist

step "what anyone may call takes at most 64 KB of arguments: more is refused before it is read"
expect_code "1 MB arguments, no role" 0 env CALL_OPERATIONS_ARGUMENT=1000000 \
  setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$BIN/call_operations" "$URL" none
# (_is_a is the first such call; the audit lines of the later ones may be past the limit.)
grep -q "refused _is_a by nobody (uid 65534, local) via .*: what anyone may call takes at most 65536 bytes" \
  "$AUDIT" || fail "no audit line for the large _is_a: $(tail -n 3 "$AUDIT")"
expect_code "1 KB arguments are read" 0 env CALL_OPERATIONS_ARGUMENT=1000 \
  setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$BIN/call_operations" "$URL" none
expect_code "still serving" 0 odadmin --id oserv ping

step "calls as fast as a caller can make them: bursts of 200 refusals in the audit log, then 5 a second; the same for join_region's lines"
before=$(grep -c "refused" "$AUDIT")
joins=$(grep -c "join_region by" "$AUDIT")
start=$(date +%s%N)
CALL_OPERATIONS_ROUNDS=150 as_nobody "$BIN/call_operations" "$URL" none ||
  fail "call_operations as nobody"
seconds=$(( ($(date +%s%N) - start) / 1000000000 + 1 ))
added=$(( $(grep -c "refused" "$AUDIT") - before ))
joins=$(( $(grep -c "join_region by" "$AUDIT") - joins ))
echo "$added refusal lines and $joins of join_region for 150 rounds of every operation in ${seconds} s or less"
[ "$added" -le $(( 200 + 5 * seconds + 2 )) ] || fail "$added refusal lines in $seconds s"
[ "$joins" -le $(( 200 + 5 * seconds + 2 )) ] || fail "$joins join_region lines in $seconds s"
# join_region and join_standby share their 200: about half each.
[ "$joins" -ge 50 ] || fail "only $joins join_region lines: the audit log lost those it may take"
sleep 1
expect_code "a refusal after the flood" 1 as_nobody "$BIN/odadmin" --id oserv shutdown 1
expect_contains "the next one, with the count of those left out" "refused shutdown by nobody" \
  "$(tail -n 1 "$AUDIT")"
expect_contains "the count" "more refused calls, left out of this log]" \
  "$(tail -n 1 "$AUDIT")"

expect_code "stop mn1" 0 rc mn1 stop
expect_code "stop" 0 rc oserv stop
echo PASS
