# Seed 4.8, the endpoint tier under HA: an endpoint fails over with its service address and its
# directory to another host and logs back into its last gateway (a normal login, no migration);
# then the managed node running that gateway fails over (address and disk) and the endpoint
# reconnects to the same gateway address. Host failures are real: the failed host's link goes
# down before its processes are killed, so no FIN reaches anyone: the peers find out by missed
# heartbeats, or by a reset when the address answers again elsewhere.
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
three_hosts              # T runs the TMR server (10.77.0.100); A and B
make_host C 4            # the takeover host
GWPORT=9600
GWN=$WORK/gwn/etc        # the managed node gwn (service address 10.77.0.101): its shared disk
EP=$WORK/ep1             # the endpoint's directory: its shared disk
move_ip 10.77.0.101 "" B
move_ip 10.77.0.150 "" A
install_on B gwn 10.77.0.101 "$GWN" --managed-node --tmr "10.77.0.100:$PORT"
expect_code "start gwn on B" 0 on B "$GWN/gwn/oserv.rc" start --join-interval 1
mkdir -p "$WORK/gwn/db/gwn/gateway/gw1"
echo "heartbeat=2" >"$WORK/gwn/db/gwn/gateway/gw1/gateway.cfg"  # a dead peer is found in 6 s
expect_code "wcrtgate gw1 on gwn" 0 as "$TMR" oserv wcrtgate -n gw1 -p "$GWPORT" 10.77.0.101
wait_until 20 grep -q "registered with the Endpoint Manager" "$WORK/gwn/db/gwn/gateway/gw1/gateway.log" ||
  fail "gw1 did not register: $(cat "$WORK/gwn/db/gwn/gateway/gw1/gateway.log" 2>&1)"

lcfd_on() {  # lcfd_on HOST: the endpoint's lcfd on HOST, from its service address
  ip netns exec "oo$TAG$1" lcfd -C "$EP" -g "10.77.0.101+$GWPORT" -n ep1 -p 0 -d 3 \
    -D login_interval=1 -D udp_interval=1 -D bcast_disable=1 -D local_ip_interface=10.77.0.150 \
    >>"$WORK/lcfd.out" 2>&1 &
  BG_PIDS="$BG_PIDS $!"
}
accepted() { grep -c "normal login to gateway 10.77.0.101+$GWPORT accepted" "$EP/lcfd.log"; }
lcfd_on A
wait_until 20 grep -q "initial login to gateway .* accepted" "$EP/lcfd.log" ||
  fail "ep1 did not log in: $(cat "$EP/lcfd.log")"
expect_code "wep ep1" 0 as "$TMR" oserv wep ep1
expect_contains "from its service address" "address              10.77.0.150" "$OUT"
OID=$(as "$TMR" oserv wep ep1 | sed -n 's/^object *//p')
expect_code "a downcall" 0 as "$TMR" oserv wep ep1 status

step "host A fails; the endpoint's address and directory move to C; it logs back into gw1"
ip -n "oo${TAG}A" link set "e${TAG}A" down
LCFD=$(head -n1 "$EP/lcfd.pid")
kill -KILL "$LCFD"
wait_until 10 gone "$LCFD" || fail "lcfd survived kill -9"
move_ip 10.77.0.150 A C
T0=$(now_ms)
lcfd_on C
# gw1 still holds A's session (no FIN came): it refuses the second one until it misses three
# heartbeats, then takes the endpoint back.
wait_until 30 sh -c "[ \$(grep -c 'normal login to gateway 10.77.0.101+$GWPORT accepted' '$EP/lcfd.log') -ge 1 ]" ||
  fail "ep1 did not log back into gw1 from C: $(tail -20 "$EP/lcfd.log")"
echo "endpoint failover: $(( $(now_ms) - T0 )) ms from the start on C to its login"
expect_code "wep ep1" 0 as "$TMR" oserv wep ep1
expect_contains "same object" "object               $OID" "$OUT"
expect_contains "same gateway" "gateway_label        gw1" "$OUT"
expect_contains "no migration" "migrations           0" "$OUT"
expect_code "a downcall reaches it on C" 0 as "$TMR" oserv wep ep1 status

step "host B fails; gwn (and gw1) move to C; the endpoint reconnects to the same address"
BEFORE=$(accepted)
ip -n "oo${TAG}B" link set "e${TAG}B" down
GWN_PID=$(head -n1 "$GWN/run/gwn.pid")
kill -KILL "$GWN_PID"
wait_until 10 gone "$GWN_PID" || fail "gwn survived kill -9"
move_ip 10.77.0.101 B C
expect_code "start gwn on C" 0 on C "$GWN/gwn/oserv.rc" start --join-interval 1
wait_until 30 sh -c "[ \$(grep -c 'normal login to gateway 10.77.0.101+$GWPORT accepted' '$EP/lcfd.log') -gt $BEFORE ]" ||
  fail "ep1 did not reconnect to gw1 on C: $(tail -20 "$EP/lcfd.log")"
# Found by missed heartbeats, or by a reset once the address answers again on C: either way
# without waiting for TCP's own timers.
expect_contains "the lost session noticed" "session with the gateway ended" "$(cat "$EP/lcfd.log")"
wait_until 20 as "$TMR" oserv wep ep1 status || fail "no downcall through gw1 on C: $OUT"
expect_code "wep ep1" 0 as "$TMR" oserv wep ep1
expect_contains "still gw1" "gateway_label        gw1" "$OUT"
expect_contains "still no migration" "migrations           0" "$OUT"
echo PASS
