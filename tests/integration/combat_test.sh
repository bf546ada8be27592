# A second, independent ORB calls openoserv: Combat (Debian's tcl-combat, pure Tcl) loads a type
# description generated from idl/oserv.idl by idl/tclcombat.py and calls object references
# (corbaloc URLs with class-less OIDs, at the owner and relayed by a dispatcher that does not own
# the object), receives a method's UTF-8 output, an OServ::Failed exception, and the
# Dispatcher's odlist. Combat speaks no TLS, and an oserv's port speaks nothing else: it calls
# through TLS tunnels (socat) that show an administrator's client certificate, as any ORB
# without TLS would. Without the tunnel it gets nothing.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
command -v tclsh >/dev/null && echo 'package require combat' | tclsh >/dev/null 2>&1 ||
  { echo "SKIP: tclsh with Combat (tcl-combat) is not installed"; exit 77; }
IR=${OPENOSERV_COMBAT_IR:?the build sets OPENOSERV_COMBAT_IR to the generated description}
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc oserv start
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
expect_code "oinstall mn1" 0 oinstall --id mn1 --managed-node --method-user root --tmr "127.0.0.2:$PORT" \
  --dbdir "$WORK/db/mn1" --hostname 127.0.0.3 --port "$PORT" --force-bind --nosync
expect_code "start mn1" 0 rc mn1 start
named() { wlookup --id oserv -r ManagedNode 127.0.0.3; }
wait_until 10 named || fail "mn1's ManagedNode is not named"

cat >"$WORK/say.sh" <<'SH'
#!/bin/sh
# OID METHOD WORDS...
shift 2
echo "café $*"
SH
chmod +x "$WORK/say.sh"
expect_code "install say" 0 wclass --id oserv method Printer say "$WORK/say.sh"
PRINTER=$(wclass --id mn1 create Printer Printer printer) || fail "create: $PRINTER"
REGION=${PRINTER%%.*}

step "without TLS Combat gets nothing"
expect_code "plain IIOP" 1 tclsh "$(dirname "$0")/combat_client.tcl" "$IR" \
  "corbaloc::1.2@127.0.0.2:$PORT/Dispatcher" "corbaloc::1.2@127.0.0.3:$PORT/$REGION.2.1" \
  "corbaloc::1.2@127.0.0.2:$PORT/$REGION.2.1" "corbaloc::1.2@127.0.0.3:$PORT/${PRINTER%%#*}"
wait_until 5 grep -q "TLS handshake refused from 127.0.0.1:[0-9]*: wrong version number" \
  "$WORK/db/mn1/audit.log" || fail "no audit line for Combat's plain IIOP"

step "Combat calls the objects through TLS tunnels"
expect_code "an administrator for Combat" 0 wcrtadmin --id oserv -r admin Combat
expect_code "its certificate" 0 odadmin --id oserv issue_cert Combat "$WORK/combat.pem"
# tunnel LOCAL_PORT ADDRESS: 127.0.0.1:LOCAL_PORT, plain, to ADDRESS:PORT, TLS.
tunnel() {
  socat "TCP-LISTEN:$1,bind=127.0.0.1,reuseaddr,fork" \
    "OPENSSL:$2:$PORT,cert=$WORK/combat.pem,cafile=$WORK/db/oserv/ssl/ca.pem,verify=1" &
  BG_PIDS="$BG_PIDS $!"
  wait_until 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" || fail "tunnel to $2 not listening"
}
TO_TMR=$(free_port)
TO_MN1=$(free_port)
tunnel "$TO_TMR" 127.0.0.2
tunnel "$TO_MN1" 127.0.0.3
# Class-less OIDs: Combat's corbaloc parser decodes %XX escapes wrongly (one hex digit), and
# the dispatcher accepts an OID without its #class# part.
NODE_URL="corbaloc::1.2@127.0.0.1:$TO_TMR/$REGION.2.1"
PRINTER_URL="corbaloc::1.2@127.0.0.1:$TO_MN1/${PRINTER%%#*}"
expect_code "combat client" 0 tclsh "$(dirname "$0")/combat_client.tcl" "$IR" \
  "corbaloc::1.2@127.0.0.1:$TO_TMR/Dispatcher" "corbaloc::1.2@127.0.0.1:$TO_MN1/$REGION.2.1" \
  "$NODE_URL" "$PRINTER_URL"
expect_contains "typed call at the owner" "ior hostname: 127.0.0.3" "$OUT"
expect_contains "attribute oid" "ior oid: $REGION.2.1#TMF_ManagedNode::Managed_Node#" "$OUT"
expect_contains "attribute class_name" "ior class_name: TMF_ManagedNode::Managed_Node" "$OUT"
expect_contains "_is_a through a relaying dispatcher" "url is_a ManagedNode: 1" "$OUT"
expect_contains "relayed ping" "url ping: alive" "$OUT"
expect_contains "relayed hostname" "url hostname: 127.0.0.3" "$OUT"
expect_contains "generic object" "printer is_a Object: 1" "$OUT"
expect_contains "method exit code" "printer exit_code: 0" "$OUT"
expect_contains "UTF-8 output" "printer output: café from tcl" "$OUT"
expect_contains "Failed exception" "nosuch Failed: class Printer has no method nosuch" "$OUT"
expect_contains "odlist" "odlist: 2 127.0.0.3 connected=1" "$OUT"
grep -q "invoke by Combat (client certificate" "$WORK/db/mn1/audit.log" ||
  fail "mn1's audit log does not name Combat"
echo PASS
