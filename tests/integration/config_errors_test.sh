# Bad configuration gets a clear error and exit code, and never touches the database: unknown
# IDs, malformed instances files and registry exports, a non-local logical host, a database
# owned by another oserv, and a logical host that does not match the odlist.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
install_instance oserv1 127.0.0.3 "$PORT" --force-bind >/dev/null
sum_db() { md5sum "$WORK/db/oserv/data.mdb" | cut -d' ' -f1; }

step "oinstall picks the next free ID and refuses duplicates"
OUT=$(oinstall --dbdir "$WORK/db/auto" --hostname 127.0.0.2 --port "$(free_port)" --nosync) ||
  fail "oinstall: $OUT"
expect_contains "next free id" "Created instance oserv2" "$OUT"
expect_code "duplicate id" 2 oinstall --id oserv --dbdir "$WORK/db/dup" --hostname 127.0.0.2
expect_contains "duplicate id" "instance oserv already exists" "$OUT"
expect_code "existing database" 2 oinstall --id fresh --dbdir "$WORK/db/oserv" --hostname 127.0.0.2
expect_contains "existing database" "already holds a database" "$OUT"
for f in setup_env.sh setup_env.csh oserv.rc; do
  [ -s "$OSERV_ETC_ROOT/oserv2/$f" ] || fail "oinstall did not write $f"
done
[ -x "$OSERV_ETC_ROOT/oserv2/oserv.rc" ] || fail "oserv.rc is not executable"

step "unknown ID lists the known ones"
expect_code "unknown id" 2 oserv --id nosuch
expect_contains "unknown id" "nosuch" "$OUT"
expect_contains "unknown id" "oserv, oserv1, oserv2" "$OUT"

step "malformed instances file names file and line; nothing starts"
cp "$OSERV_ETC_ROOT/instances" "$WORK/instances.good"
echo "broken:line:with:too:many:fields" >>"$OSERV_ETC_ROOT/instances"
expect_code "malformed instances" 2 oserv --id oserv
expect_contains "malformed instances" "$OSERV_ETC_ROOT/instances:5" "$OUT"
cp "$WORK/instances.good" "$OSERV_ETC_ROOT/instances"

step "registry export selects the instance"
cat >"$WORK/inst.reg" <<REG
Windows Registry Editor Version 5.00

[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\oserv\\Parameters]
"dbdir"="$WORK/db/oserv"
"hostname"="127.0.0.2"
"port"=dword:$(printf %08x "$PORT")
REG
expect_code "start from registry" 0 env OSERV_REGISTRY="$WORK/inst.reg" oserv --id oserv
expect_code "odadmin" 0 odadmin
expect_contains "registry port" "Listening on = *:$PORT" "$OUT"

step "a database owned by a running oserv is refused, naming the owner"
expect_code "second owner" 3 oserv --id other --dbdir "$WORK/db/oserv" --hostname 127.0.0.2 \
  --port "$(free_port)"
expect_contains "owner named" "in use by another oserv (instance oserv" "$OUT"
kill -TERM "$(pid_of oserv)"
wait_until 10 sh -c "! odadmin ping" || fail "oserv did not stop"
DB_SUM=$(sum_db)

echo '"port"=dword:00000000' >>"$WORK/inst.reg"
expect_code "bad registry value" 2 env OSERV_REGISTRY="$WORK/inst.reg" oserv --id oserv
expect_contains "bad registry value" "inst.reg:7" "$OUT"

step "a logical host that is not on this machine is refused"
expect_code "foreign host" 4 env WLOCALHOST=192.0.2.1 oserv --id oserv
expect_contains "foreign host" "192.0.2.1" "$OUT"
expect_contains "foreign host" "not an address of this machine" "$OUT"

step "a logical host other than the odlist entry: Database mismatch"
expect_code "mismatch" 2 env WLOCALHOST=127.0.0.3 oserv --id oserv
expect_contains "mismatch" "Database mismatch (from 127.0.0.3/127.0.0.3)" "$OUT"
expect_contains "mismatch" "odlist init failed. internal resource corrupted. (54)" "$OUT"
expect_contains "mismatch fix" "WLOCALHOST" "$OUT"
expect_eq "database untouched by refused starts" "$DB_SUM" "$(sum_db)"
expect_code "start with the right host" 0 env WLOCALHOST=127.0.0.2 "$OSERV_ETC_ROOT/oserv/oserv.rc" start
expect_code "stop" 0 rc oserv stop

step "bad command lines"
expect_code "bad port" 2 oserv --id oserv --port 70000
expect_code "unknown flag" 2 oserv --frobnicate
expect_code "oinstall without dbdir" 2 oinstall --id x
expect_contains "oinstall without dbdir" "--dbdir" "$OUT"
echo PASS
