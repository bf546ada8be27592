# A second, independent ORB calls openoserv: Combat (Debian's tcl-combat, pure Tcl) loads a type
# description generated from idl/oserv.idl by idl/tclcombat.py and calls object references (an
# IOR, corbaloc URLs with class-less OIDs, relayed by a dispatcher that does not own the object),
# receives a method's UTF-8 output, an OServ::Failed exception, and the Dispatcher's odlist.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
command -v tclsh >/dev/null && echo 'package require combat' | tclsh >/dev/null 2>&1 ||
  { echo "SKIP: tclsh with Combat (tcl-combat) is not installed"; exit 77; }
IR=${OPENOSERV_COMBAT_IR:?the build sets OPENOSERV_COMBAT_IR to the generated description}
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc oserv start
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

step "Combat calls the objects"
NODE_IOR=$(wlookup --id oserv -r ManagedNode 127.0.0.3 --ior) || fail "wlookup --ior: $NODE_IOR"
# Class-less OIDs: Combat's corbaloc parser decodes %XX escapes wrongly (one hex digit), and
# the dispatcher accepts an OID without its #class# part.
NODE_URL="corbaloc::1.2@127.0.0.2:$PORT/$REGION.2.1"
PRINTER_URL="corbaloc::1.2@127.0.0.3:$PORT/${PRINTER%%#*}"
expect_code "combat client" 0 tclsh "$(dirname "$0")/combat_client.tcl" "$IR" \
  "$(odadmin --id oserv ior)" "$NODE_IOR" "$NODE_URL" "$PRINTER_URL"
echo "$OUT"
expect_contains "typed call on an IOR" "ior hostname: 127.0.0.3" "$OUT"
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
echo PASS
