# The dispatcher's IOR is persistent: the same after a restart (and after kill -9), and catior
# decodes it showing the logical host's address and the TLS port (the IIOP profile's own port is
# 0: the port speaks TLS only).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.3 "$PORT" >/dev/null
expect_code "start" 0 rc oserv start
IOR1=$(odadmin ior) || fail "odadmin ior: $IOR1"
expect_contains "ior" "IOR:" "$IOR1"
expect_eq "oserv.ior file" "$IOR1" "$(cat "$WORK/db/oserv/oserv.ior")"

step "catior shows host and port"
command -v catior >/dev/null || fail "catior (Debian package omniorb) is not installed"
OUT=$(catior "$IOR1") || fail "catior: $OUT"
expect_contains "catior" "IIOP 1.2 127.0.0.3 0 \"Dispatcher\"" "$OUT"
expect_contains "catior" "TAG_SSL_SEC_TRANS port = $PORT" "$OUT"
expect_contains "catior" "IDL:OServ/Dispatcher:1.0" "$OUT"

step "same IOR after restart and after kill -9"
expect_code "restart" 0 rc oserv restart
expect_eq "ior after restart" "$IOR1" "$(odadmin ior)"
crash oserv
expect_code "start after kill -9" 0 rc oserv start
expect_eq "ior after kill -9" "$IOR1" "$(odadmin ior)"

step "the corbaloc form works over TLS"
OUT=$(odadmin --host "127.0.0.3:$PORT" ping) || fail "corbaloc:ssliop:127.0.0.3:$PORT/Dispatcher: $OUT"
expect_code "stop" 0 rc oserv stop
echo PASS
