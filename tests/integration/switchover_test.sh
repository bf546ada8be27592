# A planned switchover (issue 16, docs/REPLICATION.md): `odadmin promote --planned` at a standby
# while clients commit at the primary in asynchronous mode. The primary stops committing (the
# clients are told so), the standby takes everything the primary committed and becomes
# the primary of epoch 2, the old primary becomes its standby in the same process without a
# copy, and a managed node follows. Nothing acknowledged is lost, nothing diverges. Then a
# cluster manager's demote (odadmin demote) under writers: the primary steps down, the standby
# is promoted, every acknowledged commit is there, and the old primary rejoins it by address.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
standby_region "$PORT"
expect_code "asynchronous" 0 odadmin --id tmr replication
expect_contains "async by default" "Replication: primary, epoch 1, async" "$OUT"

step "clients commit at the primary; the standby is promoted with --planned meanwhile"
ACKED=$WORK/acked
start_writers tmr "$ACKED"
sleep 1.5
TMR_PID=$(pid_of tmr)
expect_code "promote --planned" 0 odadmin --id sb promote --planned
expect_contains "promoted" "at epoch 2" "$OUT"
sleep 0.5
stop_writers
[ -s "$ACKED" ] || fail "no commit was acknowledged"
expect_contains "the primary handed over" "handing over to the standby 127.0.0.3 (127.0.0.3:$PORT) at transaction" "$(cat "$WORK/db/tmr/oservlog")"
# It restarts as a standby once its last requests (the standby's fetches) are answered.
wait_until 40 odadmin --id tmr ping || fail "the old primary did not come back"
# Now a standby: a commit there is done at the new primary (a GIOP forward).
expect_code "a commit at the old primary, done at the new" 0 commit_record tmr late
expect_contains "committed at the new primary" " late" "$(mdb_dump -p -s objects "$WORK/db/sb")"

step "nothing acknowledged is lost, in asynchronous mode"
expect_eq "acknowledged commits missing (of $(wc -l <"$ACKED"))" 0 "$(missing_at sb "$ACKED")"

step "the old primary is the new one's standby, in the same process, without a copy"
expect_eq "same process" "$TMR_PID" "$(pid_of tmr)"
following() { odadmin --id sb replication | grep -q "standby 127.0.0.2 (127.0.0.2:$PORT): at [0-9]*, behind 0 transactions"; }
wait_until 40 following || fail "the old primary does not follow: $(odadmin --id sb replication); $(odadmin --id tmr replication)"
expect_code "commit at the new primary" 0 commit_record sb after
wait_until 40 following || fail "it stopped following"
expect_code "old primary's status" 0 odadmin --id tmr replication
expect_contains "standby of the new" "Replication: standby of the primary 127.0.0.3 (127.0.0.3:$PORT), epoch 2" "$OUT"
[ -z "$(find "$WORK/db/tmr" -maxdepth 1 -name 'divergence-*')" ] || fail "a planned switchover diverged"
if grep -q "copied the primary's database" <(sed -n '/handing over/,$p' "$WORK/db/tmr/oservlog"); then
  fail "the old primary copied the database again"
fi
wait_until 40 sh -c "odadmin --id mn odlist | grep -q '^[0-9]* *1 .* 127.0.0.3 '" || fail "mn did not follow"

step "and back: a second planned switchover returns the region to the first host"
expect_code "promote back" 0 odadmin --id tmr promote --planned
expect_contains "epoch 3" "at epoch 3" "$OUT"
wait_until 40 sh -c "odadmin --id tmr replication | grep -q 'standby 127.0.0.3 (127.0.0.3:$PORT): at [0-9]*, behind 0'" ||
  fail "not back: $(odadmin --id tmr replication)"
T=$(odb --id tmr begin)
expect_code "what was committed at the other is here" 0 odb --id tmr get "$T" objects after
odb --id tmr abort "$T" >/dev/null
wait_until 40 sh -c "odadmin --id mn odlist | grep -q '^[0-9]* *1 .* 127.0.0.2 '" || fail "mn did not follow back"

step "a cluster manager's demote: the primary steps down under writers, the standby is promoted, the old primary rejoins it by address"
expect_code "demote at a standby" 1 odadmin --id sb demote
expect_contains "refused at a standby" "is a standby TMR server" "$OUT"
start_writers tmr "$ACKED"
sleep 1
TMR_PID=$(pid_of tmr)
expect_code "demote" 0 odadmin --id tmr demote
expect_contains "stepping down" "Stepping down at transaction" "$OUT"
sleep 0.5
stop_writers
demoted() { odadmin --id tmr replication | grep -q "Replication: demoted TMR server"; }
wait_until 40 demoted || fail "tmr did not step down: $(odadmin --id tmr replication)"
expect_eq "stepped down in the same process" "$TMR_PID" "$(pid_of tmr)"
expect_code "promote the standby" 0 odadmin --id sb promote
expect_contains "epoch 4" "at epoch 4" "$OUT"
wait_until 40 sh -c "odadmin --id sb replication | grep -q 'Replication: primary, epoch 4'" || fail "sb is not the primary"
expect_eq "acknowledged commits missing after the step-down (of $(wc -l <"$ACKED"))" 0 "$(missing_at sb "$ACKED")"
expect_code "rejoin a standby's address" 1 odadmin --id tmr rejoin "127.0.0.4:$PORT"
expect_contains "not the primary" "127.0.0.4:$PORT" "$OUT"
expect_code "rejoin the new primary by address" 0 odadmin --id tmr rejoin "127.0.0.3:$PORT"
wait_until 40 sh -c "odadmin --id sb replication | grep -q 'standby 127.0.0.2 (127.0.0.2:$PORT): at [0-9]*, behind 0'" ||
  fail "tmr does not follow sb: $(odadmin --id sb replication)"
[ -z "$(find "$WORK/db/tmr" -maxdepth 1 -name 'divergence-*')" ] || fail "a step-down diverged"
echo "PASS"
