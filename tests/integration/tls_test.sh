# TLS between dispatchers and for remote clients: a managed node joins with a one-time token
# (pinned to the region CA) and gets its certificate; the region then runs over TLS. A peer that
# does not speak TLS, shows a certificate of another CA or an expired one is refused at the
# handshake, and the oserv's audit log says so. Over TLS, every operation of the access table
# (one list: domain/Access.cc) is called as an anonymous client, as an administrator with a too
# small role, and as another region's dispatcher: exactly what the table denies is refused.
# Client certificates are issued, revoked region-wide, refused where remote login is off; a
# dispatcher renews its certificate and keeps its place in the region.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start the TMR server" 0 rc oserv start
AUDIT=$WORK/db/oserv/audit.log
SSL=$WORK/db/oserv/ssl
URL="corbaloc:ssliop:1.2@127.0.0.2:$PORT/Dispatcher"

step "a managed node joins with a token; the token is spent"
expect_code "join_token" 0 odadmin --id oserv join_token
TOKEN=$OUT
expect_code "oinstall without a token" 2 oinstall --id mn1 --managed-node --tmr "127.0.0.2:$PORT" \
  --dbdir "$WORK/db/mn1" --hostname 127.0.0.3 --port "$PORT" --force-bind --nosync
expect_contains "says how to get one" "odadmin join_token" "$OUT"
# A token of the right form whose pin names another CA: nothing is sent to that TMR server.
FORGED="${TOKEN%%.*}.0123456789abcdef0123456789abcdef"
expect_code "oinstall with a token for another CA" 1 oinstall --id mn1 --managed-node \
  --tmr "127.0.0.2:$PORT" --token "$FORGED" --dbdir "$WORK/db/mn1" --hostname 127.0.0.3 \
  --port "$PORT" --force-bind --nosync
expect_contains "the pin decides" "does not show the region CA the token names" "$OUT"
grep -q "join_region" "$AUDIT" && fail "the forged token reached the TMR server"
expect_code "oinstall mn1" 0 oinstall --id mn1 --managed-node --tmr "127.0.0.2:$PORT" \
  --token "$TOKEN" --dbdir "$WORK/db/mn1" --hostname 127.0.0.3 --port "$PORT" --force-bind \
  --nosync --method-user root
[ "$(stat -c %a "$WORK/db/mn1/ssl/self.key")" = 600 ] || fail "the node's key is not 0600"
[ -e "$WORK/db/mn1/ssl/ca.key" ] && fail "a managed node holds the CA's key"
expect_code "the token again" 1 oinstall --id mn2 --managed-node --tmr "127.0.0.2:$PORT" \
  --token "$TOKEN" --dbdir "$WORK/db/mn2" --hostname 127.0.0.4 --port "$PORT" --nosync
expect_contains "spent" "used up" "$OUT"
expect_code "start mn1" 0 rc mn1 start
expect_code "odlist from mn1" 0 odadmin --id mn1 odlist
echo "$OUT" | grep -Eq " 1 +ctf +$PORT +127\.0\.0\.2 " || fail "mn1 does not reach the TMR server: $OUT"
expect_code "status" 0 odadmin --id mn1
expect_contains "encryption level" "Inter-dispatcher encryption level = TLS, certificate" "$OUT"

step "plain IIOP, another CA, an expired certificate: refused at the handshake, logged"
expect_code "plain IIOP to the TLS port" 1 "$BIN/tls_probe" call - \
  "corbaloc::1.2@127.0.0.2:$PORT/Dispatcher"
wait_until 5 grep -q "TLS handshake refused from 127.0.0.1:[0-9]*: wrong version number (not TLS" \
  "$AUDIT" || fail "no audit line for the plain IIOP client"
mkdir -p "$WORK/other" "$WORK/foreign" "$WORK/expired"
REGION=$(odadmin --id oserv | sed -n 's/^Region = //p')
expect_code "another CA" 0 "$BIN/tls_probe" ca "$WORK/other" "$REGION"
expect_code "a dispatcher certificate of it" 0 "$BIN/tls_probe" issue "$WORK/other" "$WORK/foreign" \
  "$REGION" 2 24
cp "$SSL/ca.pem" "$WORK/foreign/ca.pem"  # it trusts our CA: our server's check must refuse it
expect_code "a certificate of another CA" 1 "$BIN/tls_probe" call "$WORK/foreign" "$URL"
wait_until 5 grep -q "TLS handshake refused .*certificate verify failed: self-signed certificate in certificate chain (/O=openoserv/OU=ca/CN=region$REGION CA)" \
  "$AUDIT" || fail "no audit line for the foreign certificate"
expect_code "an expired certificate of the region" 0 "$BIN/tls_probe" issue "$SSL" "$WORK/expired" \
  "$REGION" 2 -2
expect_code "an expired certificate" 1 "$BIN/tls_probe" call "$WORK/expired" "$URL"
wait_until 5 grep -q "TLS handshake refused .*certificate has expired" "$AUDIT" ||
  fail "no audit line for the expired certificate"

step "every operation over TLS: anonymous, too small a role, another region's dispatcher"
expect_code "anonymous" 0 "$BIN/call_operations" "$URL" none "$SSL/ca.pem"
expect_code "anonymous, 1 MB arguments: refused before they are read" 0 \
  env CALL_OPERATIONS_ARGUMENT=1000000 "$BIN/call_operations" "$URL" none "$SSL/ca.pem"
expect_code "anonymous ping" 0 odadmin --host "127.0.0.2:$PORT" --ca "$SSL/ca.pem" --id none ping
expect_code "anonymous status" 1 odadmin --host "127.0.0.2:$PORT" --ca "$SSL/ca.pem" --id none
expect_contains "refusal names the caller" "you are anonymous TLS client 127.0.0.1:" "$OUT"
expect_code "wcrtadmin Alice" 0 wcrtadmin --id oserv -r user Alice
expect_code "issue Alice a certificate" 0 odadmin --id oserv issue_cert Alice "$WORK/alice.pem" 30
SERIAL=$(echo "$OUT" | sed -n 's/.*client certificate \([0-9A-F]*\) of.*/\1/p')
[ -n "$SERIAL" ] || fail "no serial in: $OUT"
[ "$(stat -c %a "$WORK/alice.pem")" = 600 ] || fail "the certificate file is not 0600"
expect_code "user role" 0 "$BIN/call_operations" "$URL" user "$WORK/alice.pem" "$WORK/alice.pem"
ODLIST_BEFORE=$(odadmin --id oserv odlist)
expect_code "Alice may not shut down" 1 odadmin --host "127.0.0.2:$PORT" --cert "$WORK/alice.pem" \
  shutdown 2
expect_contains "as Alice" "you are Alice (client certificate $SERIAL" "$OUT"
expect_code "mn1 still runs" 0 odadmin --id mn1 ping
expect_eq "odlist unchanged" "$ODLIST_BEFORE" "$(odadmin --id oserv odlist)"
install_instance other 127.0.0.5 "$PORT" --force-bind >/dev/null
expect_code "another region's dispatcher" 0 "$BIN/call_operations" "$URL" unreachable \
  "$WORK/db/other/ssl/ca.pem" "$WORK/db/other/ssl/identity.pem"
expect_code "...even trusting our CA" 0 "$BIN/call_operations" "$URL" unreachable \
  "$SSL/ca.pem" "$WORK/db/other/ssl/identity.pem"

step "revocation reaches the whole region; remote login can be turned off per dispatcher"
expect_code "Alice at mn1" 0 odadmin --host "127.0.0.3:$PORT" --cert "$WORK/alice.pem" odlist
expect_code "wgetadmin lists the certificate" 0 wgetadmin --id mn1 Alice
expect_contains "serial" "client certificates: $SERIAL" "$OUT"
expect_code "revoke at a node" 1 odadmin --id mn1 revoke_cert Alice "$SERIAL"
expect_contains "done at the TMR server" "done at the TMR server" "$OUT"
expect_code "revoke" 0 odadmin --id oserv revoke_cert Alice "$SERIAL"
expect_code "Alice at the TMR server" 1 odadmin --host "127.0.0.2:$PORT" --cert "$WORK/alice.pem" odlist
expect_contains "revoked" "revoked" "$OUT"
wait_until 10 sh -c "! odadmin --host 127.0.0.3:$PORT --cert $WORK/alice.pem odlist" ||
  fail "mn1 still takes the revoked certificate"
grep -q "refused [a-z_]* by Alice (client certificate $SERIAL, [0-9.:]*), revoked" "$WORK/db/mn1/audit.log" ||
  fail "mn1's audit log has no refusal of the revoked certificate"
expect_code "a new certificate" 0 odadmin --id oserv issue_cert Alice "$WORK/alice2.pem"
expect_code "set_allow_rconnect FALSE at mn1" 0 odadmin --id mn1 set_allow_rconnect FALSE
wait_until 10 sh -c "odadmin --host 127.0.0.3:$PORT --cert $WORK/alice2.pem --id none ping" ||
  fail "mn1 does not answer a ping"
expect_code "Alice at mn1" 1 odadmin --host "127.0.0.3:$PORT" --cert "$WORK/alice2.pem" odlist
expect_contains "remote login off" "remote client login not allowed here" "$OUT"
expect_code "Alice at the TMR server" 0 odadmin --host "127.0.0.2:$PORT" --cert "$WORK/alice2.pem" odlist
expect_code "status of mn1" 0 odadmin --id mn1
expect_contains "status says so" "Remote client login allowed = FALSE" "$OUT"

step "a dispatcher renews its certificate and keeps its place"
OLD=$(odadmin --id mn1 | sed -n 's/.*certificate \([0-9A-F]*\) until.*/\1/p')
expect_code "renew_cert at mn1" 0 odadmin --id mn1 renew_cert
expect_contains "from the next start" "next start" "$OUT"
expect_code "restart mn1" 0 rc mn1 restart
NEW=$(odadmin --id mn1 | sed -n 's/.*certificate \([0-9A-F]*\) until.*/\1/p')
[ -n "$NEW" ] && [ "$NEW" != "$OLD" ] || fail "mn1's certificate did not change ($OLD -> $NEW)"
wait_until 10 sh -c "odadmin --id oserv odlist | grep -Eq ' 2 +ctf +$PORT +127\.0\.0\.3 '" ||
  fail "the TMR server does not reach mn1 after the renewal"
expect_code "the TMR server shuts mn1 down over TLS" 0 odadmin --id oserv shutdown 2
wait_until 10 gone mn1 || fail "mn1 still runs"
echo "PASS"
