# A managed node and its TMR server: the node's log banner names its TMR server; force bind set
# at the TMR server while the node was down takes effect at the node's next start (one, not
# two); the node's "TMR server link" turns to retrying within a join interval after the TMR
# server dies, and back to connected when it returns.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
NODE_PORT=$(free_port)  # not force-bound at first, it needs a port of its own
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc oserv start
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
expect_code "oinstall mn1" 0 oinstall --id mn1 --managed-node --tmr "127.0.0.2:$PORT" \
  --dbdir "$WORK/db/mn1" --hostname 127.0.0.3 --port "$NODE_PORT" --nosync
expect_code "start mn1" 0 rc mn1 start --join-interval 1

step "the node's banner names its TMR server"
expect_contains "banner" "TMR server 127.0.0.2:$PORT. Port $NODE_PORT." "$(head -n 4 "$WORK/db/mn1/oservlog")"

step "force bind set while the node is down takes effect at its next start"
expect_code "stop mn1" 0 rc mn1 stop
expect_code "set_force_bind for the down node" 0 odadmin --id oserv set_force_bind TRUE 2
expect_code "start mn1 once" 0 rc mn1 start --join-interval 1
expect_code "status" 0 odadmin --id mn1
expect_contains "bound to its own address" "Listening on = 127.0.0.3:$NODE_PORT" "$OUT"
expect_contains "logged" "force bind is TRUE for dispatcher 2 in the TMR server's odlist" \
  "$(cat "$WORK/db/mn1/oservlog")"
expect_code "mn1 answers over IIOP" 0 odadmin --host "127.0.0.3:$NODE_PORT" ping

step "the link turns to retrying when the TMR server dies, and back when it returns"
crash oserv
retrying() { odadmin --id mn1 | grep -q "^TMR server link = retrying since"; }
wait_until 5 retrying || fail "link still: $(odadmin --id mn1 | grep 'TMR server link')"
expect_contains "logged" "lost the TMR server" "$(cat "$WORK/db/mn1/oservlog")"
expect_code "restart TMR" 0 rc oserv start
connected() { odadmin --id mn1 | grep -q "^TMR server link = connected"; }
wait_until 10 connected || fail "link still: $(odadmin --id mn1 | grep 'TMR server link')"
echo PASS
