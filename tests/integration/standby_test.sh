# A standby TMR server (issue 16, docs/REPLICATION.md): it joins with a token, copies the
# primary's database at its first start, follows every commit, passes administration to its
# primary (refusing callers that cannot follow, and everyone once the primary is gone),
# survives kill -9 and catches up; in synchronous mode every acknowledged commit is on it when
# the primary is killed, and a dead standby does not stop the primary for long; a primary
# restored from an older backup is followed after the standby undoes what it no longer has.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance tmr 127.0.0.2 "$PORT" --force-bind >/dev/null
expect_code "start TMR" 0 rc tmr start
expect_code "replication off" 0 odadmin --id tmr replication
expect_eq "no standby yet" "Replication: off (no standby TMR server)" "$OUT"

# seq ID: the last transaction the replication status of instance ID names.
primary_seq() { odadmin --id tmr replication | sed -n 's/.*last transaction \([0-9]*\).*/\1/p'; }
standby_seq() { odadmin --id sb replication | sed -n 's/.*at transaction \([0-9]*\).*/\1/p'; }
caught_up() { [ "$(standby_seq)" = "$(primary_seq)" ] && [ -n "$(primary_seq)" ]; }
# Every table but the replication log and the instances' own meta keys, as mdb_dump shows it.
dump() {
  for t in odlist objects attributes classes names administrators endpoints gateways; do
    mdb_dump -p -s "$t" "$1" || return 1
  done
  mdb_dump -p -s meta "$1" | awk '
    /^ / && !value { key = $0; value = 1; next }
    /^ / { if (key !~ /^ (instance_id|created|durability|role|repl_seq|standby_copy)$/) print key " = " $0; value = 0; next }
    { print }'
}

step "a standby joins with a token and copies the primary's database at its first start"
for i in 1 2 3; do commit_record tmr "before$i" >/dev/null || fail "commit before$i"; done
TOKEN=$(join_token tmr 1)
expect_code "oinstall --standby" 0 env OSERV_JOIN_TOKEN="$TOKEN" oinstall --id sb --standby \
  --tmr "127.0.0.2:$PORT" --dbdir "$WORK/db/sb" --hostname 127.0.0.3 --port "$PORT" --nosync
expect_contains "oinstall says standby" "dispatcher 1 (standby TMR server) 127.0.0.3:$PORT" "$OUT"
expect_code "the token is spent" 1 env OSERV_JOIN_TOKEN="$TOKEN" oinstall --id sb2 --standby \
  --tmr "127.0.0.2:$PORT" --dbdir "$WORK/db/sb2" --hostname 127.0.0.4 --port "$PORT" --nosync
expect_code "primary lists it" 0 odadmin --id tmr replication
expect_contains "not heard yet" "standby 127.0.0.3 (127.0.0.3:$PORT): not heard from" "$OUT"
commit_record tmr between >/dev/null || fail "commit between"
expect_code "start standby" 0 rc sb start
wait_until 10 caught_up || fail "the standby did not catch up: $(odadmin --id sb replication)"
expect_contains "copied" "standby: copied the primary's database" "$(cat "$WORK/db/sb/oservlog")"

step "it follows commits as they are made, and says so on both sides"
for i in 1 2 3 4 5; do commit_record tmr "after$i" >/dev/null || fail "commit after$i"; done
wait_until 10 caught_up || fail "the standby did not follow: $(odadmin --id sb replication)"
expect_code "standby status" 0 odadmin --id sb
expect_contains "standby role" "Replication: standby of the primary 127.0.0.2 (127.0.0.2:$PORT), epoch 1" "$OUT"
expect_contains "standby link" "TMR server link = Replication: standby of the primary" "$OUT"
expect_contains "standby lag" "behind 0 transactions, 0 bytes; in sync" "$OUT"
expect_code "primary status" 0 odadmin --id tmr
expect_contains "primary role" "Replication: primary, epoch 1, async" "$OUT"
expect_contains "primary sees it" "standby 127.0.0.3 (127.0.0.3:$PORT): at $(primary_seq), behind 0 transactions, 0 bytes, 0.0 s; in sync" "$OUT"

step "administration at a standby is done at the primary (a GIOP forward); others are refused"
expect_code "lookup at the primary" 0 wlookup --id tmr -r ManagedNode 127.0.0.2
AT_PRIMARY=$OUT
expect_code "lookup at standby" 0 wlookup --id sb -r ManagedNode 127.0.0.2
expect_eq "the primary's answer" "$AT_PRIMARY" "$OUT"
commit_record sb via-standby >/dev/null || fail "a transaction through the standby"
expect_contains "committed at the primary" "via-standby" "$(mdb_dump -p -s objects "$WORK/db/tmr")"
wait_until 10 caught_up || fail "the standby did not follow its own forward"
expect_contains "forward audited" "forwarded lookup by root (uid 0, local)" "$(cat "$WORK/db/sb/audit.log")"
expect_code "mode set at standby" 0 odadmin --id sb set_replication async
expect_contains "set at the primary" "Replication is asynchronous" "$OUT"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  # Another local user has no certificate to show the primary: refused here, told where to go.
  chmod 755 "$WORK"  # mktemp's 0700 would keep other users from the sockets under it
  expect_code "an administrator made at the standby" 0 wcrtadmin --id sb -r global,user -l nobody Watcher
  wait_until 10 caught_up || fail "the standby did not follow"
  expect_code "not root: refused" 1 setpriv --reuid=nobody --regid=nogroup --clear-groups -- \
    "$BIN/wlookup" --id sb -r ManagedNode 127.0.0.2
  expect_contains "standby refusal" "is a standby TMR server (Replication: standby of the primary 127.0.0.2" "$OUT"
  expect_contains "what to do" "run this at the primary (--host IP:PORT --cert FILE)" "$OUT"
fi
expect_code "bad mode" 1 odadmin --id tmr set_replication maybe
expect_contains "bad mode" "say sync, async, or auto_promote" "$OUT"
expect_code "ping standby" 0 odadmin --id sb ping
expect_code "health standby" 0 odadmin --id sb health

step "kill -9 the standby during commits: it starts again and catches up"
( for i in $(seq 1 60); do commit_record tmr "burst$i" >/dev/null || exit 1; done ) &
WRITER=$!
BG_PIDS="$BG_PIDS $WRITER"
sleep 0.3
crash sb
expect_code "restart standby" 0 rc sb start
wait "$WRITER" || fail "commits at the primary failed while its standby was killed"
wait_until 20 caught_up || fail "the standby did not catch up after kill -9: $(odadmin --id sb replication)"

step "synchronous mode: a dead standby is dropped from sync, the primary goes on"
expect_code "set sync" 0 odadmin --id tmr set_replication sync
expect_contains "sync said" "Replication is synchronous" "$OUT"
commit_record tmr sync1 >/dev/null || fail "commit sync1"
crash sb
commit_record tmr sync2 >/dev/null || fail "a commit with the standby dead did not return"
expect_contains "drop logged" "did not confirm transaction" "$(cat "$WORK/db/tmr/oservlog")"
expect_code "primary status" 0 odadmin --id tmr replication
expect_contains "catching up" "catching up" "$OUT"
expect_code "restart standby" 0 rc sb start
wait_until 20 caught_up || fail "the standby did not catch up: $(odadmin --id sb replication)"
wait_until 10 sh -c "odadmin --id tmr replication | grep -q 'in sync'" || fail "not back in sync"

step "synchronous mode: every acknowledged commit is on the standby when the primary dies"
ACKED=$WORK/acked
start_writers tmr "$ACKED"
sleep 2
crash tmr
stop_writers
# Its primary gone: the forward fails at once (exit 3), and once the standby has missed the
# primary for 3 s it passes nothing on (exit 1); either answer says what to do.
OUT=$(wlookup --id sb -r ManagedNode 127.0.0.2 2>&1); code=$?
case $code in 1 | 3) ;; *) fail "lookup, the primary dead: exit $code: $OUT" ;; esac
expect_contains "promote" "promote this standby" "$OUT"
sleep 3.5
expect_code "lookup, the primary silent" 1 wlookup --id sb -r ManagedNode 127.0.0.2
expect_contains "refused" "is a standby TMR server (Replication: standby of the primary" "$OUT"
expect_contains "promote" "promote this standby" "$OUT"
expect_code "stop standby" 0 rc sb stop
[ -s "$ACKED" ] || fail "no commit was acknowledged"
HELD=$(mdb_dump -p -s objects "$WORK/db/sb")
missing=0
while read -r key; do
  case "$HELD" in *" $key"*) ;; *) missing=$((missing + 1)); echo "lost: $key" >&2 ;; esac
done <"$ACKED"
expect_eq "acknowledged commits missing at the standby (of $(wc -l <"$ACKED"))" 0 "$missing"

step "after both stop, the standby's tables are the primary's"
# The primary may have died with a group sent and not yet committed: it restarts without it, and
# the standby undoes it (keeping it in undone.txt) before it follows.
expect_code "restart primary" 0 rc tmr start
expect_code "restart standby" 0 rc sb start
wait_until 20 caught_up || fail "the standby did not catch up: $(odadmin --id sb replication)"
if grep -q "standby: undid transaction" "$WORK/db/sb/oservlog"; then
  echo "  (the standby undid $(grep -c "standby: undid transaction" "$WORK/db/sb/oservlog") transaction(s) the restarted primary did not have)"
  grep -q "^transaction " "$WORK/db/sb/undone.txt" || fail "undone, and not in undone.txt"
fi
expect_code "stop standby" 0 rc sb stop
expect_code "stop primary" 0 rc tmr stop
dump "$WORK/db/tmr" >"$WORK/tmr.dump" || fail "mdb_dump tmr"
dump "$WORK/db/sb" >"$WORK/sb.dump" || fail "mdb_dump sb"
cmp -s "$WORK/tmr.dump" "$WORK/sb.dump" || fail "the copies differ: $(diff "$WORK/tmr.dump" "$WORK/sb.dump" | head -20)"

step "the primary restored from a backup older than the standby: the standby undoes what it lacks"
MPORT=$(free_port)
# metric HOST SERIES: the value of one series as its oserv's --metrics shows it (0 if absent).
metric() {
  curl -sf "http://$1:$MPORT/metrics" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}
expect_code "restart primary" 0 rc tmr start --metrics "127.0.0.2:$MPORT"
expect_code "restart standby" 0 rc sb start --metrics "127.0.0.3:$MPORT"
wait_until 20 caught_up || fail "the standby did not catch up: $(odadmin --id sb replication)"
expect_eq "metrics: the standby in sync" 1 \
  "$(metric 127.0.0.2 "openoserv_replication_standby_in_sync{standby=\"127.0.0.3:$PORT\"}")"
expect_eq "metrics: the standby not behind" 0 \
  "$(metric 127.0.0.2 "openoserv_replication_standby_behind_transactions{standby=\"127.0.0.3:$PORT\"}")"
expect_code "backup" 0 wbkupdb --id tmr "$WORK/backup"
for key in gone1 gone2; do commit_record tmr "$key" >/dev/null || fail "commit $key"; done
wait_until 10 caught_up || fail "the standby did not follow: $(odadmin --id sb replication)"
AHEAD=$(standby_seq)
UNDID=$(grep -c "standby: undid transaction" "$WORK/db/sb/oservlog" || true)
expect_code "stop primary" 0 rc tmr stop
cp "$WORK/backup/data.mdb" "$WORK/db/tmr/data.mdb" && rm -f "$WORK/db/tmr/lock.mdb"
expect_code "start the restored primary" 0 rc tmr start --metrics "127.0.0.2:$MPORT"
# Other transactions under the numbers the standby holds: only the checksums tell them apart.
for key in new1 new2 new3; do commit_record tmr "$key" >/dev/null || fail "commit $key"; done
wait_until 20 caught_up || fail "the standby did not follow the restored primary: $(odadmin --id sb replication)"
[ "$(standby_seq)" -gt "$AHEAD" ] || fail "the primary's new transactions do not pass the standby's old position"
expect_eq "undone at the standby" $((UNDID + 2)) "$(grep -c "standby: undid transaction" "$WORK/db/sb/oservlog")"
UNDONE=$(cat "$WORK/db/sb/undone.txt")
expect_contains "kept: gone1" "objects/gone1: (absent) -> v-gone1" "$UNDONE"
expect_contains "kept: gone2" "objects/gone2: (absent) -> v-gone2" "$UNDONE"
expect_eq "metrics: undone at the standby" 2 "$(metric 127.0.0.3 openoserv_replication_undone_total)"
expect_code "standby status" 0 odadmin --id sb replication
expect_contains "status: undone" "undid 2 transaction(s) its primary does not have since this oserv started; they are in $WORK/db/sb/undone.txt" "$OUT"
expect_eq "metrics: the standby not behind" 0 "$(metric 127.0.0.3 openoserv_replication_behind_transactions)"
expect_code "stop standby" 0 rc sb stop
expect_code "stop primary" 0 rc tmr stop
HELD=$(mdb_dump -p -s objects "$WORK/db/sb")
expect_contains "the primary's new ones" " new3" "$HELD"
case "$HELD" in *" gone1"*) fail "the standby kept gone1, which its primary does not have" ;; esac
dump "$WORK/db/tmr" >"$WORK/tmr.dump" || fail "mdb_dump tmr"
dump "$WORK/db/sb" >"$WORK/sb.dump" || fail "mdb_dump sb"
cmp -s "$WORK/tmr.dump" "$WORK/sb.dump" || fail "the copies differ: $(diff "$WORK/tmr.dump" "$WORK/sb.dump" | head -20)"
echo "PASS"
