# Framework objects as CORBA objects, called with omniORB (idlcall): typed operations through
# IORs and corbaloc URLs at any dispatcher of the region; references unchanged and still valid
# after the owner restarts; a relaying dispatcher shows the call as rwait, one started with
# --remote-calls forward sends the caller to the owner instead (GIOP LOCATION_FORWARD); method
# output as UTF-8 (invalid bytes replaced); clear errors.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc oserv start
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
for n in 1 2; do
  expect_code "oinstall mn$n" 0 oinstall --id "mn$n" --managed-node --method-user root --tmr "127.0.0.2:$PORT" \
    --dbdir "$WORK/db/mn$n" --hostname "127.0.0.$((n + 2))" --port "$PORT" --force-bind --nosync
  expect_code "start mn$n" 0 rc "mn$n" start
done
named() { [ "$(wlookup --id oserv -r ManagedNode -a | wc -l)" = 3 ]; }
wait_until 10 named || fail "ManagedNode names: $(wlookup --id oserv -r ManagedNode -a)"
MN1=$(wlookup --id mn2 -r ManagedNode 127.0.0.3)
REGION=${MN1%%.*}

step "typed operations on a node's object, from every dispatcher"
for id in oserv mn1 mn2; do
  expect_code "hostname via $id" 0 idlcall --id "$id" "$MN1" hostname
  expect_eq "hostname via $id" 127.0.0.3 "$OUT"
done
expect_code "ping" 0 idlcall --id mn2 "$MN1" ping
expect_eq "ping" alive "$OUT"
expect_code "oid attribute" 0 idlcall --id mn2 "$MN1" oid
expect_eq "oid attribute" "$MN1" "$OUT"
expect_code "class-less OID at a relay" 0 idlcall --id oserv "$REGION.2.1" hostname
expect_eq "class-less OID" 127.0.0.3 "$OUT"
expect_code "run_script" 4 idlcall --id mn2 "$MN1" run_script 'echo "on $(cat /proc/sys/kernel/hostname)"; exit 4'
expect_contains "run_script output" "on " "$OUT"

step "the IOR names the owner, its interface and UTF-8, and survives a restart of the owner"
IOR=$(wlookup --id mn2 -r ManagedNode 127.0.0.3 --ior) || fail "wlookup --ior: $IOR"
decoded=$(catior "$IOR")
expect_contains "repository id" 'Type ID: "IDL:OServ/ManagedNode:1.0"' "$decoded"
expect_contains "owner's address" "IIOP 1.2 127.0.0.3 0" "$decoded"
expect_contains "owner's TLS port" "TAG_SSL_SEC_TRANS port = $PORT" "$decoded"
expect_contains "OID in the key" "$MN1" "$decoded"
expect_contains "UTF-8" "char native code set:       UTF-8" "$decoded"
URL=$(wlookup --id oserv -r ManagedNode 127.0.0.3 --url)
expect_eq "url" "corbaloc:ssliop:1.2@127.0.0.3:$PORT/$REGION.2.1%23TMF_ManagedNode::Managed_Node%23" "$URL"
expect_code "restart mn1" 0 rc mn1 restart
expect_eq "same IOR after restart" "$IOR" "$(wlookup --id oserv -r ManagedNode 127.0.0.3 --ior)"
expect_code "old IOR after restart" 0 idlcall --id oserv "$IOR" hostname
expect_eq "old IOR answers" 127.0.0.3 "$OUT"
expect_code "URL after restart" 0 idlcall --id oserv "$URL" ping

step "task libraries through their interface"
printf 'echo "task ran on $OSERV_OID"\n' >"$WORK/task.sh"
expect_code "wtask add" 0 wtask --id oserv add Library whoami "$WORK/task.sh"
LIB=$(wlookup --id oserv -r TaskLibrary Library) || fail "no TaskLibrary: $LIB"
expect_code "list_tasks" 0 idlcall --id mn1 "$LIB" list_tasks
expect_eq "list_tasks" whoami "$OUT"
expect_code "run_task" 0 idlcall --id mn1 "$LIB" run_task whoami 127.0.0.4
expect_contains "ran on mn2" "task ran on $REGION.3.1#" "$OUT"
expect_code "wrong interface" 1 idlcall --id mn1 "$LIB" hostname
expect_contains "wrong interface" "is not a ManagedNode" "$OUT"

step "method output leaves as UTF-8; invalid bytes are replaced"
cat >"$WORK/say.sh" <<'SH'
#!/bin/sh
printf 'café \377 end\n'
SH
chmod +x "$WORK/say.sh"
expect_code "install say" 0 wclass --id oserv method Printer say "$WORK/say.sh"
PRINTER=$(wclass --id mn1 create Printer Printer printer) || fail "create: $PRINTER"
expect_code "say" 0 objcall --id mn2 "$PRINTER" say
expect_eq "UTF-8 output" "café � end" "$OUT"

step "a relaying dispatcher waits (rwait); with --remote-calls forward the caller goes to the owner"
cat >"$WORK/nap.sh" <<'SH'
#!/bin/sh
sleep "$3"; echo napped
SH
chmod +x "$WORK/nap.sh"
expect_code "install nap" 0 wclass --id oserv method Printer nap "$WORK/nap.sh"
running() { odstat --id mn1 -c | grep -q "run .*$PRINTER nap"; }
objcall --id mn2 "$PRINTER" nap 2 >"$WORK/nap.out" 2>&1 &
caller=$!
BG_PIDS="$BG_PIDS $caller"
wait_until 10 running || fail "nap does not run at mn1: $(odstat --id mn1 -c)"
expect_code "odstat at the relay" 0 odstat --id mn2 -c
expect_contains "relay waits" "rwait" "$OUT"
wait "$caller" || fail "relayed nap failed: $(cat "$WORK/nap.out")"
expect_code "restart mn2 forwarding" 0 rc mn2 restart --remote-calls forward
objcall --id mn2 "$PRINTER" nap 2 >"$WORK/nap2.out" 2>&1 &
caller=$!
BG_PIDS="$BG_PIDS $caller"
wait_until 10 running || fail "forwarded nap does not run at mn1"
expect_code "odstat at the forwarder" 0 odstat --id mn2 -c
expect_eq "no method thread at the forwarder" "" "$OUT"
wait "$caller" || fail "forwarded nap failed: $(cat "$WORK/nap2.out")"
expect_eq "forwarded nap output" napped "$(cat "$WORK/nap2.out")"

step "errors name the object or the dispatcher"
expect_code "restart mn2 relaying" 0 rc mn2 restart
expect_code "no such object" 1 idlcall --id mn2 "$REGION.2.99" ping
expect_contains "no such object" "object $REGION.2.99 does not exist" "$OUT"
expect_code "another region" 1 idlcall --id mn2 "1.2.1" ping
expect_code "not an OID" 1 idlcall --id mn2 x.y.z ping
expect_contains "not an OID" "is not an object id" "$OUT"
expect_code "unknown operation" 2 idlcall --id mn2 "$MN1" frobnicate
expect_code "owner down" 0 rc mn1 stop
expect_code "call on a stopped owner" 1 idlcall --id mn2 "$MN1" hostname
expect_contains "names the owner" "dispatcher 2 (127.0.0.3, 127.0.0.3:$PORT) does not answer" "$OUT"
echo PASS
