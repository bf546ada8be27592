# The etc root's per-ID start/stop scripts (appendix A.5.1), the HACMP-style application server
# scripts, copy-cluster.sh copying an instance to another node's etc root, idempotently, and
# oinstalls at once on one etc root (each waits for the others' edits of the instances file).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
HA=$(cd "$(dirname "$0")/../../ha" && pwd)
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
ROOT=$OSERV_ETC_ROOT

step "start ID / stop ID and start_ID / stop_ID, with no environment set up"
expect_code "start oserv" 0 env -i PATH=/usr/bin:/bin "$ROOT/start" oserv
expect_code "answers" 0 odadmin ping
expect_code "stop_oserv" 0 env -i PATH=/usr/bin:/bin "$ROOT/stop_oserv"
expect_code "stopped" 3 rc oserv status
expect_code "start_oserv" 0 env -i PATH=/usr/bin:/bin "$ROOT/start_oserv"
expect_code "stop oserv" 0 "$ROOT/stop" oserv
expect_code "unknown ID" 5 "$ROOT/start" nosuch
expect_code "no ID" 2 "$ROOT/start"

step "copy-cluster.sh to another node's etc root"
NODE=$WORK/node-b
expect_code "copy" 0 env OCOPYINST="$BIN/ocopyinst" "$HA/copy-cluster.sh" oserv "$NODE"
expect_contains "copy" "entry added" "$OUT"
grep -q "^oserv:$WORK/db/oserv:$NODE/oserv:$PORT:127.0.0.2$" "$NODE/instances" ||
  fail "instances line not copied: $(cat "$NODE/instances")"
grep -q "OSERV_ETC_ROOT='$NODE'" "$NODE/oserv/oserv.rc" || fail "oserv.rc not rewritten for $NODE"
! grep -q "$ROOT" "$NODE/oserv/setup_env.sh" || fail "setup_env.sh still names $ROOT"
for f in start stop start_oserv stop_oserv; do [ -x "$NODE/$f" ] || fail "$NODE/$f missing"; done
SUM=$(cd "$NODE" && find . -type f | sort | xargs md5sum)
expect_code "copy again" 0 env OCOPYINST="$BIN/ocopyinst" "$HA/copy-cluster.sh" oserv "$NODE"
expect_contains "idempotent" "already up to date" "$OUT"
expect_eq "nothing changed" "$SUM" "$(cd "$NODE" && find . -type f | sort | xargs md5sum)"

step "the copy starts the instance (the same database, the node's etc root)"
expect_code "start on the node" 0 "$NODE/start" oserv
expect_code "answers through the node's socket" 0 odadmin --etc-root "$NODE" ping
expect_code "stop on the node" 0 "$NODE/stop_oserv"

step "a changed instance is updated in the copy, other entries kept"
echo "other:/srv/other.db::9999:" >>"$NODE/instances"
sed -i "s/^oserv:\(.*\):$PORT:127.0.0.2$/oserv:\1:$PORT:127.0.0.3/" "$ROOT/instances"
expect_code "copy after a change" 0 env OCOPYINST="$BIN/ocopyinst" "$HA/copy-cluster.sh" oserv "$NODE"
expect_contains "updated" "entry updated" "$OUT"
grep -q ":$PORT:127.0.0.3$" "$NODE/instances" || fail "entry not updated: $(cat "$NODE/instances")"
grep -q "^other:/srv/other.db::9999:$" "$NODE/instances" || fail "another entry was lost"

step "to a registry export (UTF-16, with other keys)"
REG=$WORK/node-b.reg
printf 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\keep\\Parameters]\r\n"dbdir"="/srv/keep.db"\r\n' |
  iconv -f UTF-8 -t UTF-16LE | { printf '\377\376'; cat; } >"$REG"
expect_code "copy to registry" 0 env OCOPYINST="$BIN/ocopyinst" "$HA/copy-cluster.sh" oserv \
  "$NODE" --target-registry "$REG"
expect_code "copy to registry again" 0 env OCOPYINST="$BIN/ocopyinst" "$HA/copy-cluster.sh" oserv \
  "$NODE" --target-registry "$REG"
expect_contains "registry idempotent" "already up to date" "$OUT"
expect_contains "the copy's scripts name the target registry" "OSERV_REGISTRY='$REG'" \
  "$(cat "$NODE/oserv/oserv.rc" "$NODE/oserv/setup_env.sh")"
expect_code "start with the copy's oserv.rc" 0 "$NODE/oserv/oserv.rc" start --hostname 127.0.0.2
expect_code "answers" 0 odadmin --etc-root "$NODE" ping
TXT=$(iconv -f UTF-16LE -t UTF-8 "$REG")
expect_contains "other key kept" 'Services\keep\Parameters' "$TXT"
kill -TERM "$(head -n1 "$NODE/run/oserv.pid")"

step "to an etc root and a registry export whose directories do not exist yet"
expect_code "copy to new directories" 0 env OCOPYINST="$BIN/ocopyinst" "$HA/copy-cluster.sh" oserv \
  "$WORK/new/node-c/etc" --target-registry "$WORK/new/reg/node-c.reg"
[ -r "$WORK/new/reg/node-c.reg" ] || fail "no registry export written"
[ -x "$WORK/new/node-c/etc/oserv/oserv.rc" ] || fail "no oserv.rc copied"

step "eight oinstalls at once on one etc root, choosing their IDs: eight entries, each its own"
MANY=$WORK/many
for i in 1 2 3 4 5 6 7 8; do
  (OSERV_ETC_ROOT=$MANY/etc oinstall --dbdir "$MANY/db/d$i" --hostname 127.0.0.2 \
     --port $((PORT + i)) --nosync >"$MANY.$i.out" 2>&1 || echo "oinstall $i: $(cat "$MANY.$i.out")") &
done >"$MANY.failed"
wait
[ ! -s "$MANY.failed" ] || fail "$(cat "$MANY.failed")"
expect_eq "entries" 8 "$(grep -c '^oserv' "$MANY/etc/instances")"
while IFS=: read -r id dbdir _; do
  case $id in oserv*) ;; *) continue ;; esac
  grep -q "DBDIR='$dbdir'" "$MANY/etc/$id/setup_env.sh" ||
    fail "instance $id has $dbdir, its setup_env.sh: $(grep DBDIR= "$MANY/etc/$id/setup_env.sh")"
done <"$MANY/etc/instances"
echo PASS
