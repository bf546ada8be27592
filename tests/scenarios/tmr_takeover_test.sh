# Seed 4.6, TMR server and managed node mutual takeover: the TMR server runs on host A and the
# managed node brown on host B. A fails; B takes over the TMR server's address and disk. The
# start order rule (TMR server before its managed nodes) is kept by the nodes themselves: a node
# started before its TMR server keeps running, retries, and joins when the server is up.
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
make_host A 1
make_host B 2
move_ip 10.77.0.100 "" A
move_ip 10.77.0.102 "" B
TMR=$WORK/tmr/etc
BROWN=$WORK/brown/etc
install_on A oserv 10.77.0.100 "$TMR"
expect_code "populate the TMR server" 0 populate_objects "$WORK/tmr/db/oserv" 100000
expect_code "start TMR on A" 0 on A "$TMR/oserv/oserv.rc" start
install_on B brown 10.77.0.102 "$BROWN" --managed-node --tmr "10.77.0.100:$PORT"
expect_code "start brown on B" 0 on B "$BROWN/brown/oserv.rc" start --join-interval 1
expect_code "brown reaches the TMR server" 0 on B env OSERV_ETC_ROOT="$BROWN" OSERV=brown wping 10.77.0.100
ODLIST=$(as "$TMR" oserv odadmin odlist)
# References to the TMR server's own object, taken before the failover.
TMR_IOR=$(as "$TMR" oserv wlookup -r ManagedNode 10.77.0.100 --ior) || fail "wlookup --ior: $TMR_IOR"
TMR_URL=$(as "$TMR" oserv wlookup -r ManagedNode 10.77.0.100 --url) || fail "wlookup --url: $TMR_URL"

step "host A fails; the managed node restarts first, then B takes over the TMR server"
PID=$(head -n1 "$TMR/run/oserv.pid")
kill -KILL "$PID"
wait_until 10 gone "$PID" || fail "the TMR server survived kill -9"
expect_code "restart brown while its TMR server is down" 0 on B "$BROWN/brown/oserv.rc" restart --join-interval 1
expect_code "brown status" 0 as "$BROWN" brown odadmin
expect_contains "brown retries" "TMR server link = retrying since" "$OUT"
move_ip 10.77.0.100 A B
T0=$(now_ms)
expect_code "start TMR on B" 0 on B "$TMR/oserv/oserv.rc" start
until_ok B env OSERV_ETC_ROOT="$BROWN" OSERV=brown wping 10.77.0.100 || fail "brown does not reach the TMR server on B"
echo "TMR takeover failover: $(( $(now_ms) - T0 )) ms from the start on B to the first call from the managed node; $(rolled_back "$WORK/tmr/db/oserv/oservlog") transaction(s) rolled back; 100000 objects"
joined() { as "$BROWN" brown odadmin | grep -q "TMR server link = connected"; }
wait_until 15 joined || fail "brown did not join the TMR server on B"

step "both run on B; the region is unchanged"
expect_code "TMR status" 0 as "$TMR" oserv odadmin
expect_contains "TMR on its address" "Listening on = 10.77.0.100:$PORT" "$OUT"
expect_eq "odlist unchanged" "$ODLIST" "$(as "$TMR" oserv odadmin odlist)"
expect_code "call from the TMR server to brown" 0 as "$TMR" oserv objcall \
  "$(as "$TMR" oserv wlookup -r ManagedNode 10.77.0.102)" hostname
expect_eq "brown answers" 10.77.0.102 "$OUT"
expect_code "the TMR server's object by its IOR from before the failover" 0 on B \
  env OSERV_ETC_ROOT="$BROWN" OSERV=brown idlcall "$TMR_IOR" hostname
expect_eq "the IOR reaches the TMR server on B" 10.77.0.100 "$OUT"
expect_code "and by its URL" 0 on B env OSERV_ETC_ROOT="$BROWN" OSERV=brown idlcall "$TMR_URL" ping
expect_eq "the URL reaches the TMR server on B" alive "$OUT"
echo PASS
