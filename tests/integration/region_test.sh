# A region on one machine: a TMR server and two managed nodes force-bound to one port on
# 127.0.0.2-4. Membership, odlist from any node, odlist edits and set_force_bind from a node,
# shutdown across nodes, wping, a node started before its TMR server, and the mismatch refusal
# of a node started under another address, repaired with change_ip.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
for ip in 127.0.0.3 127.0.0.4 127.0.0.5; do
  (exec 3<>"/dev/tcp/$ip/$PORT") 2>/dev/null && fail "port $PORT busy on $ip"
done
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc oserv start
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
REGION=$(odadmin | sed -n 's/^Region = //p')

step "managed nodes join through the TMR server"
expect_code "oinstall mn1" 0 oinstall --id mn1 --managed-node --tmr "127.0.0.2:$PORT" \
  --dbdir "$WORK/db/mn1" --hostname 127.0.0.3 --port "$PORT" --force-bind --nosync
expect_contains "mn1 is dispatcher 2" "region $REGION, dispatcher 2 (managed node)" "$OUT"
expect_code "oinstall mn2" 0 oinstall --id mn2 --managed-node --tmr "127.0.0.2:$PORT" \
  --dbdir "$WORK/db/mn2" --hostname 127.0.0.4 --port "$PORT" --force-bind --nosync
expect_contains "mn2 is dispatcher 3" "dispatcher 3 (managed node)" "$OUT"
expect_code "oinstall against no TMR" 3 oinstall --id mnx --managed-node --tmr "127.0.0.9:$PORT" \
  --dbdir "$WORK/db/mnx" --hostname 127.0.0.5 --port "$PORT"
expect_contains "no TMR" "does not answer" "$OUT"
expect_code "start mn1" 0 rc mn1 start
expect_code "start mn2" 0 rc mn2 start --join-interval 1

step "odlist from a managed node shows the whole region"
expect_code "odlist at mn1" 0 odadmin --id mn1 odlist
rows=$(echo "$OUT" | tr -s ' ')
expect_contains "od 1" "$REGION 1 ctf $PORT 127.0.0.2 127.0.0.2" "$rows"
expect_contains "od 2" " 2 ctf $PORT 127.0.0.3 127.0.0.3" "$rows"
expect_contains "od 3" " 3 ctf $PORT 127.0.0.4 127.0.0.4" "$rows"
expect_code "status at mn1" 0 odadmin --id mn1
expect_contains "mn1 status" "Dispatcher = 2" "$OUT"
expect_contains "mn1 link" "TMR server link = connected to the TMR server dispatcher 1" "$OUT"

step "odlist edits and set_force_bind from a node persist at the TMR server"
expect_code "alias from mn2" 0 odadmin --id mn2 odlist add_hostname_alias 2 127.0.0.3 black
expect_code "TMR odlist" 0 odadmin --id oserv odlist
expect_contains "alias at TMR" "127.0.0.3       127.0.0.3,black" "$OUT"
wait_until 10 sh -c "odadmin --id mn1 odlist | grep -q '127.0.0.3,black'" ||
  fail "the alias did not reach mn1's copy of the odlist"
expect_code "bad alias address" 1 odadmin --id mn2 odlist add_hostname_alias 2 127.0.0.9 x
expect_contains "bad alias address" "has the address 127.0.0.3, not 127.0.0.9" "$OUT"
expect_code "set_force_bind from mn1" 0 odadmin --id mn1 set_force_bind FALSE 3
expect_code "TMR odlist" 0 odadmin --id oserv odlist
expect_contains "force bind cleared at TMR" " 3  ct-" "$OUT"
expect_code "set_force_bind back" 0 odadmin --id mn1 set_force_bind TRUE 3

step "wping by name from a node; a stopped node is reported by number and host"
expect_code "wping black" 0 wping --id mn2 black
expect_contains "wping black" "(dispatcher 2) is alive" "$OUT"
expect_code "stop mn2" 0 rc mn2 stop
expect_code "wping a stopped node" 1 wping --id mn1 127.0.0.4
expect_contains "down node named" "dispatcher 3 (127.0.0.4, 127.0.0.4:$PORT) does not answer" "$OUT"
expect_code "odlist shows it unconnected" 0 odadmin --id oserv odlist
expect_contains "not connected" " 3  -tf" "$OUT"
expect_code "wping unknown" 1 wping --id mn1 nosuchhost

step "a managed node started before its TMR server runs, then joins"
expect_code "stop TMR" 0 rc oserv stop
expect_code "start mn2 without TMR" 0 rc mn2 start --join-interval 1
expect_code "mn2 status" 0 odadmin --id mn2
expect_contains "retrying" "TMR server link = retrying since" "$OUT"
expect_code "start TMR" 0 rc oserv start
connected() { odadmin --id mn2 | grep -q "TMR server link = connected"; }
wait_until 15 connected || fail "mn2 did not join: $(odadmin --id mn2 | tail -n1)"
grep -q "joined region $REGION" "$WORK/db/mn2/oservlog" || fail "joining not logged"

step "shutdown of another node, from a node"
PID3=$(pid_of mn2)
expect_code "shutdown 3 from mn1" 0 odadmin --id mn1 shutdown 3
wait_until 10 gone "$PID3" || fail "dispatcher 3 still runs after odadmin shutdown 3 from mn1"
expect_contains "who asked, at mn1" "shutdown of 3 asked by a local client (pid " \
  "$(cat "$WORK/db/mn1/oservlog")"
expect_contains "who asked, at mn2 (its address)" "shutdown of 3 asked by giop:ssl:127.0.0." \
  "$(cat "$WORK/db/mn2/oservlog")"

step "a node started under another address is refused, then repaired with change_ip"
expect_code "stop mn1" 0 rc mn1 stop
expect_code "mn1 under 127.0.0.5" 2 env WLOCALHOST=127.0.0.5 oserv --id mn1
expect_contains "mismatch" "Database mismatch (from 127.0.0.5/127.0.0.5)" "$OUT"
expect_contains "mismatch" "odlist init failed. internal resource corrupted. (54)" "$OUT"
expect_code "change_ip at TMR" 0 odadmin --id oserv odlist change_ip 2 127.0.0.5 TRUE
expect_code "mn1 under 127.0.0.5 after change_ip" 0 env WLOCALHOST=127.0.0.5 oserv --id mn1
expect_code "odlist" 0 odadmin --id oserv odlist
expect_contains "new address" " 2  ctf    $PORT" "$OUT"
expect_contains "new address" "127.0.0.5" "$OUT"

step "shutdown all from the TMR server"
P1=$(pid_of oserv); P2=$(pid_of mn1)
expect_code "shutdown all" 0 odadmin --id oserv shutdown all
wait_until 10 gone "$P1" || fail "TMR server still runs after shutdown all"
wait_until 10 gone "$P2" || fail "mn1 still runs after shutdown all"
echo PASS
