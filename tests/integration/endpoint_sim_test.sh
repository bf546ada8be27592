# The endpoint simulator (bench/lcf_sim) against real gateways: a few hundred endpoints log in
# (initial), log in again from their identities (normal), and are all logged in again after
# their gateway is killed with kill -9 (the managed node's oserv restarts it; the endpoints
# come back to it or go to the other gateway). Scale figures are docs/PERFORMANCE.md's; this is
# the functional check that the simulator speaks the protocol and the gateway holds many
# sessions.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
N=300
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

step "$N simulated endpoints: initial logins"
expect_code "lcf_sim initial" 0 "$SIM" --gateway "127.0.0.3+$GWPORT" --count $N --dir "$WORK/sim" \
  --duration 10 --report 2 --expect $N --jitter 1
expect_contains "all initial" "final: up $N/$N; logins initial=$N;" "$OUT"
expect_code "wep ls" 0 wep --id oserv ls
expect_eq "all recorded" $N "$(grep -c ' sim[0-9]' <<<"$OUT")"

step "the same endpoints again: normal logins from their identities"
expect_code "lcf_sim normal" 0 "$SIM" --gateway "127.0.0.3+$GWPORT" --count $N --dir "$WORK/sim" \
  --duration 6 --report 2 --expect $N --jitter 1
expect_contains "all normal" "final: up $N/$N; logins normal=$N;" "$OUT"

step "their gateway killed: every endpoint is logged in again"
"$SIM" --gateway "127.0.0.3+$GWPORT" --count $N --dir "$WORK/sim" --duration 25 --report 2 \
  --expect $N --jitter 1 >"$WORK/sim.out" 2>&1 &
SIM_PID=$!
BG_PIDS="$BG_PIDS $SIM_PID"
wait_until 15 grep -q "up $N/$N" "$WORK/sim.out" || fail "not all up: $(tail -3 "$WORK/sim.out")"
pkill -KILL -f "oserv-gateway --label gw1 .*$WORK/" || fail "no gw1 process"
wait "$SIM_PID"; code=$?
final=$(grep "^final" "$WORK/sim.out")
[ $code = 0 ] || fail "not every endpoint came back: $final"
expect_contains "all lost and back" "lost $N; re-logins $N" "$final"
echo "$final"
echo "endpoint simulator ok"
