# Mutual takeover on one machine: two force-bound instances share one port on 127.0.0.2 and
# 127.0.0.3; each client reaches its own instance by $OSERV/--id (Unix socket) or by IP (TCP).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
install_instance oserv1 127.0.0.3 "$PORT" --force-bind >/dev/null

step "both start on port $PORT"
expect_code "start oserv" 0 rc oserv start
expect_code "start oserv1" 0 rc oserv1 start

step "each listens on its own address"
OUT=$(odadmin --id oserv) || fail "odadmin oserv: $OUT"
expect_contains "oserv status" "Listening on = 127.0.0.2:$PORT" "$OUT"
expect_contains "oserv status" "Force socket bind to a single address = TRUE" "$OUT"
OUT=$(OSERV=oserv1 odadmin) || fail "odadmin oserv1: $OUT"
expect_contains "oserv1 status" "Listening on = 127.0.0.3:$PORT" "$OUT"
expect_contains "oserv1 status" "Instance ID = oserv1" "$OUT"

step "TCP clients reach the instance by address"
# Two regions (two TMR servers): each client shows its own instance's certificate.
OUT=$(odadmin --id oserv1 --host "127.0.0.3:$PORT" 2>&1) || fail "odadmin --host 127.0.0.3: $OUT"
expect_contains "via 127.0.0.3" "Instance ID = oserv1" "$OUT"
OUT=$(odadmin --host "127.0.0.2:$PORT") || fail "odadmin --host 127.0.0.2: $OUT"
expect_contains "via 127.0.0.2" "Instance ID = oserv" "$OUT"
expect_code "nobody on 127.0.0.4" 3 odadmin --host "127.0.0.4:$PORT" --timeout 2 ping
expect_contains "nobody on 127.0.0.4" "127.0.0.4:$PORT" "$OUT"

step "stopping one leaves the other running"
expect_code "stop oserv" 0 rc oserv stop
expect_code "oserv1 still answers" 0 odadmin --id oserv1 ping
expect_code "stop oserv1" 0 rc oserv1 stop
echo PASS
