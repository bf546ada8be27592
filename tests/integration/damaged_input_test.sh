# Input that must not brick an instance or corrupt its database: host name aliases validated, a
# wrong change_ip of the TMR server repaired offline (the mismatch error names the repair), a
# truncated data.mdb and a journal of garbage refused with clear errors (no SIGBUS, nothing
# erased), an instance kept in a registry export started by its own oserv.rc, and odadmin --host
# naming the instance that answers there.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
expect_code "start" 0 rc oserv start

step "host name aliases are validated; the last name stays"
expect_code "comma" 1 odadmin --id oserv odlist add_hostname_alias 1 127.0.0.2 "a,b"
expect_contains "says why" "is not a host name" "$OUT"
expect_code "space" 1 odadmin --id oserv odlist add_hostname_alias 1 127.0.0.2 "a b"
HUGE=$(head -c 100000 /dev/zero | tr '\0' a)
expect_code "100 KB name" 1 odadmin --id oserv odlist add_hostname_alias 1 127.0.0.2 "$HUGE"
[ ${#OUT} -lt 1000 ] || fail "the refusal echoes the whole name (${#OUT} bytes)"
expect_code "a good alias" 0 odadmin --id oserv odlist add_hostname_alias 1 127.0.0.2 tmr-alias
expect_code "delete it" 0 odadmin --id oserv odlist delete_hostname_alias 1 127.0.0.2 tmr-alias
expect_code "the last name" 1 odadmin --id oserv odlist delete_hostname_alias 1 127.0.0.2 127.0.0.2
expect_contains "kept" "the only host name of dispatcher 1" "$OUT"

step "odadmin --host names the instance that answers there"
expect_code "ping by host" 0 env OSERV=elsewhere odadmin --host "127.0.0.2:$PORT" \
  --cert "$WORK/db/oserv/ssl/identity.pem" ping
expect_eq "its own ID" "oserv instance oserv at 127.0.0.2:$PORT is alive" "$OUT"

step "a wrong change_ip of the TMR server is repaired offline"
expect_code "change_ip to a wrong address" 0 odadmin --id oserv odlist change_ip 1 127.0.0.9 FALSE
expect_code "offline while running" 1 odadmin --id oserv --offline odlist
expect_contains "refused" "the oserv runs" "$OUT"
expect_code "restart (6: not configured)" 6 rc oserv restart
expect_contains "names the repair" "'odadmin --id oserv --offline odlist change_ip 1 127.0.0.2'" "$OUT"
expect_code "offline odlist" 0 odadmin --id oserv --offline odlist
expect_contains "shows the wrong entry" "127.0.0.9" "$OUT"
expect_code "offline repair" 0 odadmin --id oserv --offline odlist change_ip 1 127.0.0.2
expect_eq "repair message" "Dispatcher 1 address changed from 127.0.0.9 to 127.0.0.2." "$OUT"
expect_code "starts again" 0 rc oserv start
expect_code "stop" 0 rc oserv stop

DB=$WORK/db/oserv
cp -a "$DB" "$WORK/saved"
step "a truncated data.mdb is a clear error, not a SIGBUS"
truncate -s 8192 "$DB/data.mdb"
expect_code "oserv refuses it" 1 oserv --id oserv
expect_contains "names the file" "$DB/data.mdb is truncated" "$OUT"
expect_code "wchkdb refuses it" 4 wchkdb --id oserv
expect_contains "wchkdb names the file" "$DB/data.mdb is truncated" "$OUT"
expect_code "odadmin --offline refuses it" 1 odadmin --id oserv --offline odlist
rm -rf "$DB" && cp -a "$WORK/saved" "$DB"

step "a journal of garbage is refused and kept as it is"
printf 'not a journal, just some text\n%.0s' $(seq 100) >"$DB/odb.log"
cp "$DB/odb.log" "$WORK/garbage"
expect_code "oserv refuses it" 1 oserv --id oserv
expect_contains "names the journal" "$DB/odb.log: bad record marker at offset 0" "$OUT"
expect_code "wchkdb refuses it" 4 wchkdb --id oserv
cmp -s "$DB/odb.log" "$WORK/garbage" || fail "the garbage journal was changed"
rm -rf "$DB" && cp -a "$WORK/saved" "$DB"
expect_code "the restored database starts" 0 rc oserv start
expect_code "stop" 0 rc oserv stop

step "an instance kept in a registry export starts with its own scripts"
REG=$WORK/instances.reg
expect_code "oinstall --registry" 0 oinstall --id reg1 --registry "$REG" --dbdir "$WORK/db/reg1" \
  --hostname 127.0.0.3 --port "$PORT" --nosync
expect_code "its oserv.rc starts it" 0 env -u OSERV_REGISTRY "$OSERV_ETC_ROOT/reg1/oserv.rc" start
expect_code "setup_env.sh selects it" 0 sh -c ". '$OSERV_ETC_ROOT/reg1/setup_env.sh' && odadmin"
expect_contains "the registry instance" "Instance ID = reg1" "$OUT"
expect_code "its oserv.rc stops it" 0 "$OSERV_ETC_ROOT/reg1/oserv.rc" stop
echo PASS
