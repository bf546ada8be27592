# Seed 4.3, mutual takeover of two managed nodes: black on host A and brown on host B, both
# force-bound to the same port on their own service addresses. A fails; B takes over black's
# address and disk and runs both oservs on one port. The TMR server on host T reaches both.
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
three_hosts
move_ip 10.77.0.101 "" A
move_ip 10.77.0.102 "" B
BLACK=$WORK/black/etc
BROWN=$WORK/brown/etc
install_on A black 10.77.0.101 "$BLACK" --managed-node --tmr "10.77.0.100:$PORT"
install_on B brown 10.77.0.102 "$BROWN" --managed-node --tmr "10.77.0.100:$PORT"
expect_code "populate black" 0 populate_objects "$WORK/black/db/black" 100000
expect_code "start black on A" 0 on A "$BLACK/black/oserv.rc" start
expect_code "start brown on B" 0 on B "$BROWN/brown/oserv.rc" start
tmr() { on T env OSERV_ETC_ROOT="$TMR" "$@"; }
expect_code "wping black" 0 tmr wping 10.77.0.101
expect_code "wping brown" 0 tmr wping 10.77.0.102
ODLIST=$(tmr odadmin odlist)

step "host A fails; B takes over black"
PID=$(head -n1 "$BLACK/run/black.pid")
kill -KILL "$PID"
wait_until 10 gone "$PID" || fail "black survived kill -9"
move_ip 10.77.0.101 A B
T0=$(now_ms)
expect_code "start black on B" 0 on B "$BLACK/black/oserv.rc" start
until_ok T env OSERV_ETC_ROOT="$TMR" wping 10.77.0.101 || fail "T does not reach black on B"
echo "mutual takeover failover: $(( $(now_ms) - T0 )) ms from the start on B to the first call from the TMR server; $(rolled_back "$WORK/black/db/black/oservlog") transaction(s) rolled back; 100000 objects"

step "B runs both on one port, each bound to its own address"
for who in "black $BLACK 10.77.0.101" "brown $BROWN 10.77.0.102"; do
  read -r id root ip <<<"$who"
  set -- "$id" "$root" "$ip"
  expect_code "status of $1" 0 as "$2" "$1" odadmin
  expect_contains "$1 force-bound" "Listening on = $3:$PORT" "$OUT"
  expect_code "wping $1 from T" 0 tmr wping "$3"
  expect_code "method call on $1" 0 tmr objcall "$(tmr wlookup -r ManagedNode "$3")" hostname
  expect_eq "$1 answers as itself" "$3" "$OUT"
done
expect_eq "odlist unchanged" "$ODLIST" "$(tmr odadmin odlist)"
echo PASS
