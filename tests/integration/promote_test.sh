# Promotion of a standby TMR server (issue 16, docs/REPLICATION.md): the primary is killed with
# kill -9 under synchronous writers; `odadmin promote` at the standby makes it the TMR server of
# epoch 2 in the same process; every acknowledged commit is there; the managed node and its
# gateway follow it, endpoints keep working and take downcalls from it; the old primary, started
# again, is refused by the node (it is of epoch 1), and its divergence report holds what it
# committed alone, though under numbers below the new epoch's start. Prints the time from
# promote to everyone following.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
N=20
PORT=$(free_port)
GWPORT=$(free_port)
standby_region "$PORT"
mkdir -p "$WORK/db/mn/gateway/gw1"
echo "heartbeat=2" >"$WORK/db/mn/gateway/gw1/gateway.cfg"
expect_code "wcrtgate gw1" 0 wcrtgate --id tmr -n gw1 -p "$GWPORT" 127.0.0.4
GWLOG=$WORK/db/mn/gateway/gw1/gateway.log
wait_until 20 grep -q "registered with the Endpoint Manager" "$GWLOG" || fail "gw1 did not register"
expect_code "sync" 0 odadmin --id tmr set_replication sync
SIM=$BIN/lcf_sim
[ -x "$SIM" ] || SIM=$(command -v lcf_sim)
"$SIM" --gateway "127.0.0.4+$GWPORT" --count $N --dir "$WORK/sim" --report 1 >"$WORK/sim.out" 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_until 20 grep -q "up $N/$N" "$WORK/sim.out" || fail "endpoints not up: $(tail -n 1 "$WORK/sim.out")"
printf '#!/bin/sh\necho inventory\n' >"$WORK/inventory"
chmod 755 "$WORK/inventory"
expect_code "an endpoint method" 0 wclass --id tmr method TMF_Endpoint::Endpoint inventory "$WORK/inventory"
expect_code "wep sim00000" 0 wep --id tmr sim00000
EP=$(sed -n 's/^object *//p' <<<"$OUT")
expect_code "downcall through the primary" 0 idlcall --id tmr "$EP" invoke inventory

step "the primary killed under three synchronous writers"
expect_code "a backup before them" 0 wbkupdb --id tmr "$WORK/backup"
ACKED=$WORK/acked
start_writers tmr "$ACKED"
sleep 2
crash tmr
stop_writers

step "odadmin promote at the standby; the node and its gateway follow"
following() {
  odadmin --id mn odlist | grep -q "^[0-9]* *1 .* 127.0.0.3 " &&
    odadmin --id mn | grep -q "TMR server link = connected to the TMR server dispatcher 1 (127.0.0.3" &&
    grep -q "registered with the Endpoint Manager" <(sed -n '/the TMR server is at 127.0.0.3/,$p' "$GWLOG")
}
SB_PID=$(pid_of sb)
T0=$(date +%s%N)
expect_code "promote" 0 odadmin --id sb promote
expect_contains "promoted" "Promoted: this oserv is the TMR server of region" "$OUT"
expect_contains "epoch 2" "at epoch 2" "$OUT"
wait_until 30 following || fail "the region did not follow: $(odadmin --id mn | grep 'TMR server link'); $(tail -n 3 "$GWLOG")"
echo "every node and gateway following $(( ($(date +%s%N) - T0) / 1000000 )) ms after promote"
expect_eq "same process (its supervisor sees no restart)" "$SB_PID" "$(pid_of sb)"
expect_code "new primary's role" 0 odadmin --id sb replication
expect_contains "primary of epoch 2" "epoch 2" "$(odadmin --id sb)"

step "every acknowledged commit is at the new primary"
[ -s "$ACKED" ] || fail "no commit was acknowledged"
expect_eq "acknowledged commits missing (of $(wc -l <"$ACKED"))" 0 "$(missing_at sb "$ACKED")"
expect_code "commits at the new primary" 0 commit_record sb after-promote

step "endpoints keep working, downcalls come from the new primary"
expect_code "downcall through the new primary" 0 idlcall --id sb "$EP" invoke inventory
expect_code "wep ls at the new primary" 0 wep --id sb ls
expect_eq "all endpoints known" $N "$(grep -c ' sim[0-9]' <<<"$OUT")"

step "the old primary, started again, gives no orders: the node knows a newer epoch"
# Its disk as it was before the writers (the backup, an empty journal): as a primary that sent
# its standby a group and stopped before committing it, on a larger scale. What it commits now
# takes numbers the new primary holds other transactions under, before that one's epoch began.
cp "$WORK/backup/data.mdb" "$WORK/db/tmr/data.mdb" && rm -f "$WORK/db/tmr/lock.mdb" &&
  : >"$WORK/db/tmr/odb.log" || fail "the backup was not put back"
expect_code "old primary starts" 0 rc tmr start
expect_code "a commit the old primary makes alone" 0 commit_record tmr alone1
expect_code "its order refused" 1 odadmin --id tmr shutdown 2
expect_contains "refusal named" "refuses this TMR server: it knows a newer epoch" "$OUT"
expect_contains "audit at the node" "is no longer the TMR server: this region is at epoch 2" "$(cat "$WORK/db/mn/audit.log")"
expect_code "node still up" 0 odadmin --id mn ping

step "refused, it demotes itself and writes what it committed alone to a divergence report"
wait_until 20 grep -q "demoted at epoch 1: the region is at epoch 2 with the primary 127.0.0.3" "$WORK/db/tmr/oservlog" ||
  fail "the old primary did not demote itself: $(tail -n 5 "$WORK/db/tmr/oservlog")"
REPORT=$(find "$WORK/db/tmr" -maxdepth 1 -name "divergence-epoch1-*.txt" | head -n 1)
[ -n "$REPORT" ] || fail "no divergence report in $WORK/db/tmr"
expect_contains "the lone commit is reported" "objects/alone1: (absent) -> v-alone1" "$(cat "$REPORT")"
expect_contains "below the epoch's start, said" "come before that start, but the other side holds others" "$(cat "$REPORT")"
expect_contains "and named in its log" "was committed here alone; it is in $REPORT" "$(cat "$WORK/db/tmr/oservlog")"
expect_eq "same process" "$(pid_of tmr)" "$(pgrep -f "oserv --id tmr --etc-root $OSERV_ETC_ROOT" | head -n 1)"
expect_code "demoted status" 0 odadmin --id tmr replication
expect_contains "demoted said" "Replication: demoted TMR server, not following the primary" "$OUT"
expect_code "a demoted server takes no lookups" 1 wlookup --id tmr -r ManagedNode 127.0.0.4
T=$(odb --id sb begin)
expect_code "not at the new primary" 1 odb --id sb get "$T" objects alone1
odb --id sb abort "$T" >/dev/null

step "odadmin rejoin: the old primary becomes a standby of the new one and follows it"
expect_code "rejoin" 0 odadmin --id tmr rejoin
expect_contains "rejoin said" "Rejoining: this oserv is a standby now" "$OUT"
caught_up() {
  [ -n "$(odadmin --id sb replication | sed -n 's/.*standby 127.0.0.2 .*: at \([0-9]*\), behind 0 transactions.*/\1/p')" ]
}
wait_until 30 caught_up || fail "the old primary did not follow: $(odadmin --id sb replication); $(odadmin --id tmr replication)"
expect_code "commit after rejoin" 0 commit_record sb after-rejoin
wait_until 10 sh -c "odadmin --id tmr replication | grep -q 'behind 0 transactions'" || fail "not following"
expect_contains "report kept" "alone1" "$(cat "$REPORT")"

step "the operator makes the other side the winner: the old primary promoted again"
expect_code "promote the old primary" 0 odadmin --id tmr promote
expect_contains "epoch 3" "at epoch 3" "$OUT"
wait_until 30 sh -c "odadmin --id mn odlist | grep -q '^[0-9]* *1 .* 127.0.0.2 '" || fail "mn did not follow the old primary back"
wait_until 30 sh -c "sed -n '/the TMR server is at 127.0.0.2/,\$p' '$GWLOG' | grep -q 'registered with the Endpoint Manager'" ||
  fail "gw1 did not follow: $(tail -n 3 "$GWLOG")"
expect_code "the replaced primary's downcall" 1 idlcall --id sb "$EP" invoke inventory
expect_contains "gateway refusal named" "gateway gw1 refuses this TMR server: it knows a newer epoch" "$OUT"
wait_until 20 grep -q "demoted at epoch 2: the region is at epoch 3" "$WORK/db/sb/oservlog" ||
  fail "the replaced primary did not demote itself: $(tail -n 5 "$WORK/db/sb/oservlog")"
expect_code "downcall through the winner" 0 idlcall --id tmr "$EP" invoke inventory
T=$(odb --id tmr begin)
expect_code "the winner has what both had" 0 odb --id tmr get "$T" objects after-rejoin
odb --id tmr abort "$T" >/dev/null
echo "PASS"
