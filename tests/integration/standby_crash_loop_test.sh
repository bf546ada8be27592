# A fault loop for the replication stream (docs/REPLICATION.md, "Sent before they are durable,
# and taken back"): the primary TMR server, with durable commits and a synchronous standby, is
# killed -9 again and again under concurrent writers and restarted (not replaced), the standby
# following throughout. Every commit a client saw acknowledged is at both afterwards; whatever
# the primary had sent and not committed when it died, the standby undoes; in the end the two
# hold the same tables.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
CYCLES=${OPENOSERV_CRASH_CYCLES:-8}
# Durable commits (no --nosync): the window between a group's records going out and its LMDB
# commit is then the length of two syncs, which the kills land in.
oinstall --id tmr --dbdir "$WORK/db/tmr" --hostname 127.0.0.2 --port "$PORT" --force-bind \
  --method-user root >/dev/null || fail "oinstall tmr"
expect_code "start TMR" 0 rc tmr start
expect_code "oinstall standby" 0 env OSERV_JOIN_TOKEN="$(join_token tmr 1)" oinstall --id sb \
  --standby --tmr "127.0.0.2:$PORT" --dbdir "$WORK/db/sb" --hostname 127.0.0.3 --port "$PORT"
expect_code "start standby" 0 rc sb start
primary_seq() { odadmin --id tmr replication | sed -n 's/.*last transaction \([0-9]*\).*/\1/p'; }
standby_seq() { odadmin --id sb replication | sed -n 's/.*at transaction \([0-9]*\).*/\1/p'; }
caught_up() { [ -n "$(primary_seq)" ] && [ "$(standby_seq)" = "$(primary_seq)" ]; }
wait_until 20 caught_up || fail "the standby did not catch up: $(odadmin --id sb replication)"
expect_code "set sync" 0 odadmin --id tmr set_replication sync

ACKED=$WORK/acked
: >"$ACKED"
for cycle in $(seq "$CYCLES"); do
  step "cycle $cycle of $CYCLES: writers and a fast loader at the primary, then kill -9, restart"
  start_writers tmr "$WORK/acked.$cycle" "c$cycle-"
  "$BIN/replication_bench" --replicated "$OSERV_ETC_ROOT/run/tmr.sock" --load 1000000 \
    >/dev/null 2>&1 &
  LOADER=$!
  BG_PIDS="$BG_PIDS $LOADER"
  # Slow builds (the sanitizers') commit slowly: each cycle waits for a first acknowledged
  # commit, then lets the load run a varying while longer before the kill.
  wait_until 60 test -s "$WORK/acked.$cycle" || fail "no commit acknowledged in cycle $cycle"
  sleep "0.$((1 + cycle % 5))"
  crash tmr
  stop_writers
  wait "$LOADER" 2>/dev/null
  cat "$WORK/acked.$cycle" >>"$ACKED"
  expect_code "restart primary" 0 rc tmr start
  wait_until 30 caught_up || fail "the standby did not follow the restarted primary: $(odadmin --id sb replication)"
  echo "  both at transaction $(primary_seq)"
done

step "every acknowledged commit is at both, and the two hold the same tables"
echo "  $(wc -l <"$ACKED") acknowledged commits; the standby undid" \
  "$(grep -c "standby: undid transaction" "$WORK/db/sb/oservlog" || true) transaction(s)," \
  "the primary took back $(grep -c "were sent to standbys and then not committed" "$WORK/db/tmr/oservlog" || true) group(s)"
expect_eq "acknowledged commits missing at the primary" 0 "$(missing_at tmr "$ACKED")"
expect_eq "acknowledged commits missing at the standby" 0 "$(missing_at sb "$ACKED")"
if grep -q "standby: undid transaction" "$WORK/db/sb/oservlog"; then
  grep -q "^transaction " "$WORK/db/sb/undone.txt" || fail "undone, and not in undone.txt"
fi
expect_code "stop standby" 0 rc sb stop
expect_code "stop primary" 0 rc tmr stop
for id in tmr sb; do
  for t in odlist objects attributes classes names administrators endpoints gateways; do
    mdb_dump -p -s "$t" "$WORK/db/$id" || fail "mdb_dump $id $t"
  done >"$WORK/$id.dump"
done
cmp -s "$WORK/tmr.dump" "$WORK/sb.dump" || fail "the copies differ: $(diff "$WORK/tmr.dump" "$WORK/sb.dump" | head -20)"
echo "PASS"
