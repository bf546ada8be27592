# The endpoint simulator (bench/lcf_sim) against real gateways: a few hundred endpoints log in
# (initial), log in again from their identities (normal), and are all logged in again after
# their gateway is killed with kill -9 (the managed node's oserv restarts it; the endpoints
# come back to it or go to the other gateway), each held by one gateway, the one it is
# assigned to, and the upcalls spooled meanwhile run once each. Scale figures are docs/PERFORMANCE.md's; this is
# the functional check that the simulator speaks the protocol and the gateway holds many
# sessions.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
# OPENOSERV_SIM_ENDPOINTS sets the count: scripts/sanitize.sh runs it with 100, since 300 TLS
# logins under ASan beside another test starved the simulator past the 2 s heartbeats' 6 s.
N=${OPENOSERV_SIM_ENDPOINTS:-300}
PORT=$(free_port)
GWPORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc oserv start
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
for n in 1 2; do
  install_instance "mn$n" "127.0.0.$((n + 2))" "$PORT" --managed-node --tmr "127.0.0.2:$PORT" --force-bind >/dev/null
  expect_code "start mn$n" 0 rc "mn$n" start
  mkdir -p "$WORK/db/mn$n/gateway/gw$n"
  echo "heartbeat=2" >"$WORK/db/mn$n/gateway/gw$n/gateway.cfg"
  expect_code "wcrtgate gw$n" 0 wcrtgate --id oserv -n "gw$n" -p "$GWPORT" "127.0.0.$((n + 2))"
  wait_until 20 grep -q "registered with the Endpoint Manager" "$WORK/db/mn$n/gateway/gw$n/gateway.log" ||
    fail "gw$n did not register"
done
SIM=$BIN/lcf_sim
[ -x "$SIM" ] || SIM=$(command -v lcf_sim)

step "$N simulated endpoints: initial logins, one held by its allow_install_policy for 7 s"
# Longer than three of the gateways' heartbeat intervals: the gateway neither sends heartbeats
# before its LoginReply (the endpoint takes the first frame for it) nor calls that wait silence.
cat >"$WORK/allow" <<'SH'
#!/bin/sh
[ "$3" = sim00000 ] && sleep 7
exit 0
SH
chmod 755 "$WORK/allow"
expect_code "wputeppol allow" 0 wputeppol --id oserv allow_install_policy "$WORK/allow"
expect_code "lcf_sim initial" 0 "$SIM" --gateway "127.0.0.3+$GWPORT" --count "$N" --dir "$WORK/sim" \
  --duration 14 --report 2 --expect "$N" --jitter 1
expect_contains "all initial" "final: up $N/$N; logins initial=$N;" "$OUT"
expect_code "wep ls" 0 wep --id oserv ls
expect_eq "all recorded" "$N" "$(grep -c ' sim[0-9]' <<<"$OUT")"

step "the same endpoints again: normal logins from their identities"
expect_code "lcf_sim normal" 0 "$SIM" --gateway "127.0.0.3+$GWPORT" --count "$N" --dir "$WORK/sim" \
  --duration 6 --report 2 --expect "$N" --jitter 1
expect_contains "all normal" "final: up $N/$N; logins normal=$N;" "$OUT"

step "their gateway killed: every endpoint is logged in again, held once, its upcalls run once"
UPCALLS=50
cat >"$WORK/report" <<SH
#!/bin/sh
echo "\$3 \$5" >>"$WORK/upcalls"
SH
chmod 755 "$WORK/report"
expect_code "install upcall method" 0 wclass --id oserv method TMF_LCF::EndpointManager report "$WORK/report"
"$SIM" --gateway "127.0.0.3+$GWPORT" --count "$N" --dir "$WORK/sim" --report 1 \
  --expect "$N" --jitter 1 --upcalls $UPCALLS >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS="$BG_PIDS $SIM_PID"
wait_until 15 grep -q "up $N/$N" "$WORK/sim.out" || fail "not all up: $(tail -3 "$WORK/sim.out")"
expect_code "held once before" 0 held_once "env OSERV=oserv" "$N" gw1 gw2
pkill -KILL -f "oserv-gateway --label gw1 .*$WORK/" || fail "no gw1 process"
wait_until 30 sh -c "tail -n 1 '$WORK/sim.out' | grep -q 'up $N/$N.* lost $N; re-logins $N .*spooled $UPCALLS, acknowledged $UPCALLS;'" ||
  fail "not every endpoint came back, or upcalls are missing: $(tail -n 1 "$WORK/sim.out")"
wait_until 20 held_once "env OSERV=oserv" "$N" gw1 gw2 || fail "after the kill: $(cat "$WORK/held.why")"
kill -TERM "$SIM_PID"
wait "$SIM_PID"; code=$?
final=$(grep "^final" "$WORK/sim.out")
[ $code = 0 ] || fail "not every endpoint was up at the end: $final"
expect_eq "each upcall run once" $UPCALLS "$(sort -u "$WORK/upcalls" | wc -l)"
expect_eq "no upcall run twice" $UPCALLS "$(wc -l <"$WORK/upcalls")"
expect_eq "by the endpoints that spooled them" $UPCALLS "$(cut -d' ' -f1 "$WORK/upcalls" | sort -u | grep -c '^sim000[0-4][0-9]$')"
echo "$final"

step "the TMR server down: the node of an endpoint's gateway still sends it downcalls"
"$SIM" --gateway "127.0.0.3+$GWPORT" --count "$N" --dir "$WORK/sim" --report 1 >"$WORK/sim4.out" 2>&1 &
SIM_PID=$!
BG_PIDS="$BG_PIDS $SIM_PID"
wait_until 15 grep -q "up $N/$N" "$WORK/sim4.out" || fail "not all up: $(tail -n 1 "$WORK/sim4.out")"
printf '#!/bin/sh\necho inventory\n' >"$WORK/inventory"
chmod 755 "$WORK/inventory"
expect_code "install an endpoint method" 0 wclass --id oserv method TMF_Endpoint::Endpoint inventory "$WORK/inventory"
expect_code "wep sim00000" 0 wep --id oserv sim00000
EP=$(sed -n 's/^object *//p' <<<"$OUT")
GW=$(sed -n 's/^gateway_label *//p' <<<"$OUT")
NODE=mn${GW#gw} OTHER=mn$((3 - ${GW#gw}))
expect_code "through the TMR server" 0 idlcall --id oserv "$EP" invoke inventory
crash oserv
expect_code "ping from $NODE" 0 idlcall --id "$NODE" "$EP" invoke ping
expect_code "the method from $NODE" 0 idlcall --id "$NODE" "$EP" invoke inventory
expect_contains "answered by the endpoint" "ok" "$OUT"
expect_contains "logged at $NODE" "the TMR server does not answer; sent through gateway $GW" "$(cat "$WORK/db/$NODE/oservlog")"
expect_code "a method $GW never sent" 1 idlcall --id "$NODE" "$EP" invoke never_sent
expect_contains "refusal named" "gateway $GW has never sent method never_sent" "$OUT"
expect_code "from $OTHER, whose gateway does not hold it" 1 idlcall --id "$OTHER" "$EP" invoke ping
kill -TERM "$SIM_PID"; wait "$SIM_PID"
echo "endpoint simulator ok"
