# A region that a sick peer cannot stall or fool:
#  - a managed node installed but not started, whose address is local to the TMR server's host,
#    is not answered for by the TMR server's listener on all addresses (it refuses calls that
#    arrived at another dispatcher's address): odlist shows it down, wping and calls fail at once;
#  - one hung node (SIGSTOP) does not hold up odlist, wping or calls to healthy nodes, errors name
#    it, and a shutdown reported as failed is not carried out when it wakes up.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null   # no force bind: *:PORT
expect_code "start TMR on all addresses" 0 rc oserv start
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
expect_code "status" 0 odadmin --id oserv
expect_contains "wildcard listener" "Listening on = *:$PORT" "$OUT"
REGION=$(echo "$OUT" | sed -n 's/^Region = //p')
for n in 1 2; do
  expect_code "oinstall mn$n" 0 oinstall --id "mn$n" --managed-node --tmr "127.0.0.2:$PORT" \
    --dbdir "$WORK/db/mn$n" --hostname "127.0.0.$((n + 2))" --port "$PORT" --force-bind --nosync
done

step "a node not started is not answered for by the TMR server's listener"
expect_code "odlist" 0 odadmin --id oserv --timeout 8 odlist
expect_contains "mn1 down" " 2  -tf" "$OUT"
expect_code "wping a stopped node" 1 wping --id oserv --timeout 8 127.0.0.3
expect_contains "wping names it" "dispatcher 2 (127.0.0.3, 127.0.0.3:$PORT) does not answer" "$OUT"
MN1="$REGION.2.1#TMF_ManagedNode::Managed_Node#"
expect_code "a call on its object" 1 idlcall --id oserv --timeout 8 "$MN1" ping
expect_contains "the call names it" "dispatcher 2 (127.0.0.3, 127.0.0.3:$PORT) does not answer" "$OUT"
expect_eq "no method thread left" "" "$(transient_threads oserv)"
expect_code "odadmin at its address" 3 odadmin --host "127.0.0.3:$PORT" --timeout 8 ping
expect_contains "nobody answers there" "no oserv answers at 127.0.0.3:$PORT" "$OUT"

step "a hung node holds up nothing else"
# The nodes bind their own addresses, which a listener on all addresses of the port excludes.
expect_code "force bind the TMR server" 0 odadmin --id oserv set_force_bind TRUE 1
expect_code "restart it" 0 rc oserv restart
expect_code "start mn1" 0 rc mn1 start
expect_code "start mn2" 0 rc mn2 start
# mn1 reaches mn2 once first: its TLS connection is then open, and the shutdown below is sent
# on it and waits in mn2's socket (without one, the TLS handshake with the hung node would time
# out and nothing would ever reach it).
expect_code "mn1 reaches mn2" 0 wping --id mn1 --timeout 8 127.0.0.4
HUNG=$(pid_of mn2)
kill -STOP "$HUNG"
CLEANUP_HOOKS="resume_hung $CLEANUP_HOOKS"
resume_hung() { kill -CONT "$HUNG" 2>/dev/null; }
expect_code "odlist with a hung node" 0 odadmin --id oserv --timeout 8 odlist
expect_contains "mn1 up" " 2  ctf" "$OUT"
expect_contains "mn2 down" " 3  -tf" "$OUT"
expect_code "wping a healthy node" 0 wping --id oserv --timeout 8 127.0.0.3
expect_code "a call to a healthy node" 0 idlcall --id oserv --timeout 8 "$MN1" hostname
expect_eq "answered" 127.0.0.3 "$OUT"
expect_code "shutdown of the hung node" 1 odadmin --id mn1 --timeout 8 shutdown 3
expect_contains "names the hung node" "dispatcher 3 (127.0.0.4, 127.0.0.4:$PORT) does not answer" "$OUT"

step "the shutdown reported as failed is not carried out when the node wakes up"
kill -CONT "$HUNG"
not_carried_out() { grep -q "not carried out: its caller gave up waiting" "$WORK/db/mn2/oservlog"; }
wait_until 10 not_carried_out || fail "mn2 did not refuse the stale shutdown"
expect_code "mn2 still runs" 0 odadmin --id mn2 ping
echo PASS
