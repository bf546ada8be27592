# Issue 15's failures at scale: 10,000 simulated endpoints (bench/lcf_sim on host E, each its
# own TLS session) against two gateways on managed nodes (gwn1 on A, gwn2 on B), the TMR server
# on T. Each phase ends with every endpoint logged in, held by one gateway only, the one the
# Endpoint Manager assigns it to (lib.sh held_once), and the upcalls spooled meanwhile run once.
#   1. gw1 killed with kill -9 (its oserv restarts it): the endpoints come back or move to gw2,
#      none lost, each moving once.
#   2. A partition between the endpoints and the gateways (E's switch port down: no FIN, no
#      reset): the endpoints find out by missed heartbeats (5 s), not by TCP, and come back when
#      it heals.
#   3. The TMR server down for a minute: gw1 killed and restarted meanwhile serves its
#      endpoints' normal logins from its own copy, and its node's downcalls.
#   4. gwn1's host fails; its address and disk move to C (seed 4.2): the endpoints reconnect to
#      the same service address.
# OPENOSERV_SCALE_ENDPOINTS sets the count (scripts/sanitize.sh runs it with fewer).
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
N=${OPENOSERV_SCALE_ENDPOINTS:-10000}
UPCALLS=$((N / 10))
GWPORT=9600
three_hosts              # T runs the TMR server (10.77.0.100); A and B
make_host C 4            # where gwn1 fails over to
make_host E 5            # the endpoints
# E's endpoints open N sessions per phase; a partition leaves N in TIME_WAIT.
on E sysctl -q -w net.ipv4.ip_local_port_range="1024 65000" net.ipv4.tcp_tw_reuse=1
CLIENT="as $TMR oserv"
for n in 1 2; do
  host=$(echo A B | cut -d' ' -f$n)
  move_ip "10.77.0.10$n" "" "$host"
  install_on "$host" "gwn$n" "10.77.0.10$n" "$WORK/gwn$n/etc" --managed-node --tmr "10.77.0.100:$PORT"
  expect_code "start gwn$n" 0 on "$host" "$WORK/gwn$n/etc/gwn$n/oserv.rc" start --join-interval 1
  mkdir -p "$WORK/gwn$n/db/gwn$n/gateway/gw$n"
  echo "heartbeat=5" >"$WORK/gwn$n/db/gwn$n/gateway/gw$n/gateway.cfg"
  expect_code "wcrtgate gw$n" 0 as "$TMR" oserv wcrtgate -n "gw$n" -p "$GWPORT" "10.77.0.10$n"
  wait_until 20 grep -q "registered with the Endpoint Manager" "$WORK/gwn$n/db/gwn$n/gateway/gw$n/gateway.log" ||
    fail "gw$n did not register: $(cat "$WORK/gwn$n/db/gwn$n/gateway/gw$n/gateway.log" 2>&1)"
done
GW1_LOG=$WORK/gwn1/db/gwn1/gateway/gw1/gateway.log
# The upcall method runs as the method user (nobody): one line per upcall it runs.
chmod 711 "$WORK"
mkdir -m 1777 "$WORK/ran"
cat >"$WORK/report" <<SH
#!/bin/sh
echo "\$3 \$5" >>"$WORK/ran/upcalls"
SH
chmod 755 "$WORK/report"
expect_code "install the upcall method" 0 as "$TMR" oserv wclass method TMF_LCF::EndpointManager report "$WORK/report"

# The simulator's last report line, and one of its figures.
last() { tail -n 1 "$WORK/sim.out"; }
figure() {  # figure up|lost|normal|isolated|spooled|acknowledged
  case $1 in
    up) last | sed -n 's/^[^:]*: up \([0-9]*\)\/.*/\1/p' ;;
    lost) last | sed -n 's/.*; lost \([0-9]*\);.*/\1/p' ;;
    spooled) last | sed -n 's/.*upcalls spooled \([0-9]*\),.*/\1/p' ;;
    acknowledged) last | sed -n 's/.*, acknowledged \([0-9]*\);.*/\1/p' ;;
    *) n=$(last | sed -n "s/.* $1=\([0-9]*\)[ ;].*/\1/p"); echo "${n:-0}" ;;
  esac
}
at_least() { [ "$(figure "$1")" -ge "$2" ] 2>/dev/null; }
# settled: every endpoint up, every spooled upcall acknowledged, each endpoint held once.
settled() {
  [ "$(figure up)" = "$N" ] && [ "$(figure spooled)" = "$(figure acknowledged)" ] &&
    held_once "$CLIENT" "$N" "$@"
}
settle() {  # settle WHAT SECONDS GW...
  what=$1 seconds=$2; shift 2
  wait_until "$seconds" settled "$@" ||
    fail "$what: $(last); $(cat "$WORK/held.why" 2>/dev/null)"
  echo "$what: $(last)"
}
upcalls_once() {
  expect_eq "each upcall run once" "$(figure spooled)" "$(sort -u "$WORK/ran/upcalls" | wc -l)"
  expect_eq "no upcall run twice" "$(figure spooled)" "$(wc -l <"$WORK/ran/upcalls")"
}
gw1_pid() { pgrep -f "oserv-gateway --label gw1 .*$WORK/"; }

step "$N endpoints log in to gw1 (initial logins)"
T0=$(now_ms)
# Started by ip netns exec itself (which execs it), so that $! is the simulator's own pid.
ip netns exec "oo${TAG}E" lcf_sim --gateway "10.77.0.101+$GWPORT" --count "$N" --dir "$WORK/sim" \
  --report 1 --upcalls "$UPCALLS" >"$WORK/sim.out" 2>&1 &
BG_PIDS="$BG_PIDS $!"
settle "initial logins" 180 gw1 gw2
echo "initial logins: $N in $(( $(now_ms) - T0 )) ms"
expect_eq "all to gw1" "$N" "$(wc -l <"$WORK/held.gw1")"

step "gw1 killed with kill -9: none lost, each moves once, upcalls run once"
NORMAL=$(figure normal) ISOLATED=$(figure isolated)
kill -KILL "$(gw1_pid)" || fail "no gw1 process"
wait_until 30 at_least lost "$N" || fail "the kill was not noticed: $(last)"
settle "gw1 killed" 180 gw1 gw2
MOVED=$(( $(figure isolated) - ISOLATED ))
expect_eq "one login each" "$N" $(( $(figure normal) - NORMAL + MOVED ))
expect_eq "those that moved are gw2's" "$MOVED" "$(wc -l <"$WORK/held.gw2")"
upcalls_once

step "partition: E cut off without a close; the endpoints notice by missed heartbeats"
LOST=$(figure lost)
ip -n "$SWITCH" link set "v${TAG}E" down
T0=$(now_ms)
# Three heartbeat intervals (15 s), checked every interval; TCP alone would take many minutes.
wait_until 30 at_least lost $((LOST + N)) || fail "the partition was not noticed: $(last)"
echo "partition: all $N sessions found lost after $(( $(now_ms) - T0 )) ms"
ip -n "$SWITCH" link set "v${TAG}E" up
settle "partition healed" 180 gw1 gw2
upcalls_once

step "the TMR server down for a minute: gw1 restarted meanwhile serves normal logins from its copy, and downcalls"
ON_GW1=$(wc -l <"$WORK/held.gw1")
NORMAL=$(figure normal) LOST=$(figure lost)
TMR_PID=$(head -n1 "$TMR/run/oserv.pid")
kill -KILL "$TMR_PID"
wait_until 10 gone "$TMR_PID" || fail "the TMR server survived kill -9"
DOWN=$(now_ms)
kill -KILL "$(gw1_pid)" || fail "no gw1 process"
wait_until 30 at_least lost $((LOST + ON_GW1)) || fail "the kill was not noticed: $(last)"
wait_until 50 sh -c "tail -n 1 '$WORK/sim.out' | grep -q ': up $N/'" ||
  fail "not every endpoint logged in again with the TMR server down: $(last)"
expect_eq "all of gw1's back as normal logins" "$ON_GW1" $(( $(figure normal) - NORMAL ))
EP=$(head -n 1 "$WORK/held.gw1" | cut -d' ' -f1)
expect_code "a downcall from gwn1, its gateway's node" 0 as "$WORK/gwn1/etc" gwn1 idlcall "$EP" invoke ping
expect_contains "gw1 served from its copy" "serving normal logins from the copy" "$(tail -n 50000 "$GW1_LOG")"
echo "TMR server down: $ON_GW1 normal logins at gw1 from its copy: $(last)"
sleep $(( 60 - ($(now_ms) - DOWN) / 1000 ))
expect_code "restart the TMR server" 0 on T "$TMR/oserv/oserv.rc" start
settle "TMR server back" 120 gw1 gw2
upcalls_once

step "gwn1's host fails; its address and disk move to C; the endpoints reconnect to it"
expect_code "stop gwn2 (its endpoints are sent to gw1)" 0 on B "$WORK/gwn2/etc/gwn2/oserv.rc" stop
settle "gw2 stopped" 120 gw1
NORMAL=$(figure normal) ISOLATED=$(figure isolated)
ip -n "oo${TAG}A" link set "e${TAG}A" down
GWN1_PID=$(head -n1 "$WORK/gwn1/etc/run/gwn1.pid")
GW1_PID=$(gw1_pid)
kill -KILL "$GWN1_PID" "$GW1_PID"
wait_until 10 gone "$GWN1_PID" || fail "gwn1 survived kill -9"
wait_until 10 gone "$GW1_PID" || fail "gw1 survived kill -9"
move_ip 10.77.0.101 A C
T0=$(now_ms)
expect_code "start gwn1 on C" 0 on C "$WORK/gwn1/etc/gwn1/oserv.rc" start --join-interval 1
settle "gwn1 on C" 180 gw1
echo "node failover: all $N back at 10.77.0.101 after $(( $(now_ms) - T0 )) ms"
expect_eq "all normal logins at the same address" "$N" $(( $(figure normal) - NORMAL ))
expect_eq "none elsewhere" "$ISOLATED" "$(figure isolated)"
upcalls_once
echo PASS
