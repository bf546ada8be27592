# Seed 4.2, idle standby of a managed node: black runs on host A; A dies (kill -9, address
# gone); black is started on host B from the same etc and database directories (the shared
# disk) under the same service address. The TMR server on host T, untouched, reaches it by the
# same name (wping, a method call) and its odlist is unchanged. Prints the failover time for a
# database of 100,000 objects and the transactions rolled back.
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
three_hosts
move_ip 10.77.0.101 "" A
BLACK=$WORK/shared/etc
install_on A black 10.77.0.101 "$BLACK" --managed-node --tmr "10.77.0.100:$PORT"
expect_code "populate 100,000 objects" 0 populate_objects "$WORK/shared/db/black" 100000
expect_code "start black on A" 0 on A "$BLACK/black/oserv.rc" start
expect_code "wping black from T" 0 on T env OSERV_ETC_ROOT="$TMR" wping 10.77.0.101
ODLIST=$(on T env OSERV_ETC_ROOT="$TMR" odadmin odlist) || fail "odlist"
NODE=$(on T env OSERV_ETC_ROOT="$TMR" wlookup -r ManagedNode 10.77.0.101) || fail "wlookup"

step "host A fails with a transaction open on black"
T1=$(as "$BLACK" black odb begin) && as "$BLACK" black odb put "$T1" objects o1 v >/dev/null ||
  fail "open transaction on black"
as "$BLACK" black tmstat -v >/dev/null  # writes the journal out
PID=$(head -n1 "$BLACK/run/black.pid")
kill -KILL "$PID"
wait_until 10 gone "$PID" || fail "black survived kill -9"
ip -n "oo${TAG}A" addr del 10.77.0.101/24 dev "e${TAG}A"
expect_code "black unreachable from T" 1 on T env OSERV_ETC_ROOT="$TMR" wping --timeout 5 10.77.0.101

step "black starts on host B"
move_ip 10.77.0.101 "" B
T0=$(now_ms)
expect_code "start black on B" 0 on B "$BLACK/black/oserv.rc" start
until_ok T env OSERV_ETC_ROOT="$TMR" wping 10.77.0.101 || fail "T does not reach black on B"
FAILOVER=$(( $(now_ms) - T0 ))
ROLLED=$(rolled_back "$WORK/shared/db/black/oservlog")
echo "idle standby failover: ${FAILOVER} ms from the start on B to the first call from the TMR server; ${ROLLED:-0} transaction(s) rolled back; 100000 objects"

step "the TMR server sees the same node"
expect_code "method call from T" 0 on T env OSERV_ETC_ROOT="$TMR" objcall "$NODE" hostname
expect_eq "same logical host" 10.77.0.101 "$OUT"
expect_eq "odlist unchanged" "$ODLIST" "$(on T env OSERV_ETC_ROOT="$TMR" odadmin odlist)"
expect_eq "one transaction rolled back" 1 "$ROLLED"
grep -q "physical host\|taken over" "$WORK/shared/db/black/oservlog" || fail "no failover notice"
echo PASS
