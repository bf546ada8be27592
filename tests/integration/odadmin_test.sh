# odadmin against a live instance: status block fields match the instance, odlist, force bind
# edits, db_sync, shutdown, usage errors, and the message when the instance is down.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
INSTALL=$(install_instance oserv 127.0.0.2 "$PORT")
REGION=$(echo "$INSTALL" | sed -n 's/.*region \([0-9]*\),.*/\1/p')
[ ${#REGION} = 10 ] || fail "region number '$REGION' is not 10 digits: $INSTALL"

step "odadmin when the instance is down names instance, socket and how to start it"
expect_code "odadmin down" 3 odadmin
expect_contains "down message" "oserv instance oserv is not running" "$OUT"
expect_contains "down message" "$OSERV_ETC_ROOT/run/oserv.sock" "$OUT"
expect_contains "down message" "$OSERV_ETC_ROOT/oserv/oserv.rc start" "$OUT"

expect_code "start" 0 rc oserv start
PID=$(pid_of oserv)

step "status block"
expect_code "odadmin" 0 odadmin
for line in "Region = $REGION" "Dispatcher = 1" "Interpreter type = linux-$(uname -m)" \
    "Database directory = $WORK/db/oserv" "Install directory = $BIN" \
    "Inter-dispatcher encryption level = TLS, certificate " "Kerberos in use = FALSE" \
    "Remote client login allowed = TRUE" "Install library path = " \
    "Force socket bind to a single address = FALSE" \
    "Perform local hostname lookup for IOM connections = FALSE" "openoserv (" "Copyright " \
    "Port range = (not restricted)" "State flags in use = TRUE" "State checking in use = TRUE" \
    "State checking every 180 seconds" "Dynamic IP addressing allowed = FALSE" \
    "Instance ID = oserv" "Logical host = 127.0.0.2" "Listening on = *:$PORT" \
    "Process id = $PID" "You are = root (uid 0, local), administrator root: super"; do
  expect_contains "status block" "$line" "$OUT"
done
expect_eq "first line" "Region = $REGION" "$(echo "$OUT" | head -n1)"

step "odlist"
expect_code "odlist" 0 odadmin odlist
expect_eq "odlist header" "Region      Disp  Flags  Port          IPaddr          Hostname(s)" \
  "$(echo "$OUT" | head -n1)"
row=$(echo "$OUT" | sed -n 2p | tr -s ' ')
expect_eq "odlist row" "$REGION 1 ct- $PORT 127.0.0.2 127.0.0.2" "$row"

step "set_force_bind persists and says it needs a restart"
expect_code "set_force_bind" 0 odadmin set_force_bind TRUE 1
expect_contains "set_force_bind" "Restart" "$OUT"
expect_code "odlist" 0 odadmin odlist
expect_contains "odlist flag f" " ctf " "$OUT"
expect_code "status" 0 odadmin
expect_contains "pending" "TRUE (running with FALSE until restarted)" "$OUT"
expect_code "restart" 0 rc oserv restart
expect_code "status" 0 odadmin
expect_contains "force bound" "Listening on = 127.0.0.2:$PORT" "$OUT"
expect_code "set_force_bind all" 0 odadmin set_force_bind FALSE all
expect_code "odlist" 0 odadmin odlist
expect_contains "odlist flag cleared" " ct- " "$OUT"

step "usage errors"
expect_code "bad bool" 2 odadmin set_force_bind MAYBE 1
expect_contains "bad bool" "MAYBE" "$OUT"
expect_code "bad od" 2 odadmin set_force_bind TRUE x
expect_code "unknown od" 1 odadmin set_force_bind TRUE 9
expect_contains "unknown od" "dispatcher 9" "$OUT"
expect_code "unknown command" 2 odadmin frobnicate
expect_code "help" 0 odadmin --help
for cmd in odlist set_force_bind shutdown db_sync ior ping "Exit codes"; do
  expect_contains "help" "$cmd" "$OUT"
done
for prog in oserv oinstall; do
  expect_code "$prog --help" 0 "$prog" --help
  expect_contains "$prog --help" "Exit codes" "$OUT"
done

step "db_sync and shutdown"
expect_code "db_sync" 0 odadmin db_sync
expect_contains "db_sync" "synced" "$OUT"
PID=$(pid_of oserv)
expect_code "shutdown" 0 odadmin shutdown 1
wait_until 10 gone "$PID" || fail "oserv $PID still runs after odadmin shutdown 1"
expect_code "status after shutdown" 3 rc oserv status
echo PASS
