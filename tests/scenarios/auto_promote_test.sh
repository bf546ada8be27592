# Automatic promotion across hosts (issue 16, docs/REPLICATION.md): a TMR server on T, its
# standby on S and four managed nodes on A-D, each host a network namespace; partitions are made
# by moving hosts to a second switch (packets vanish: no connection is closed).
#  1. T, A and B cut off from S, C and D: S has 3 of the region's 6 members, not a majority, and
#     is not promoted; healed, it follows T again.
#  2. T and A cut off: S, B, C and D are 4 of 6: S promotes itself. T, still primary on its side,
#     commits alone. Healed: the majority's nodes refuse T (epoch 1), T demotes itself and
#     reports what it committed alone; A follows S; T rejoins as S's standby.
#  3. S (the primary now) is killed with kill -9 under synchronous writers: T promotes itself
#     with the nodes' votes, and holds every acknowledged commit.
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
AFTER=2
make_host T 3
make_host S 4
make_host A 11
make_host B 12
make_host C 13
make_host D 14
ip -n "$SWITCH" link add br1 type bridge
ip -n "$SWITCH" link set br1 up
# partition HOST...: these hosts on a switch of their own; heal: everyone back on one.
partition() { for h in "$@"; do ip -n "$SWITCH" link set "v$TAG$h" master br1; done; }
heal() { for h in $HOSTS; do ip -n "$SWITCH" link set "v$TAG$h" master br0; done; }

# One etc root for every instance: clients reach each over its Unix socket from here.
TMR=$OSERV_ETC_ROOT
install_on T oserv 10.77.0.3 "$TMR"
expect_code "start the TMR server on T" 0 on T "$TMR/oserv/oserv.rc" start --join-interval 1
for n in A:11:na B:12:nb C:13:nc D:14:nd; do
  h=${n%%:*} rest=${n#*:}
  install_on "$h" "${rest#*:}" "10.77.0.${rest%%:*}" "$TMR" --managed-node --tmr "10.77.0.3:$PORT"
  expect_code "start ${rest#*:} on $h" 0 on "$h" "$TMR/${rest#*:}/oserv.rc" start --join-interval 1
done
TOKEN=$(odadmin --id oserv join_token) || fail "join token: $TOKEN"
expect_code "oinstall --standby on S" 0 on S env OSERV_JOIN_TOKEN="$TOKEN" oinstall --id sb --standby \
  --tmr "10.77.0.3:$PORT" --dbdir "$WORK/db/sb" --hostname 10.77.0.4 --port "$PORT" --nosync
expect_code "start the standby on S" 0 on S "$TMR/sb/oserv.rc" start --join-interval 1
expect_code "sync" 0 odadmin --id oserv set_replication sync
expect_code "auto_promote" 0 odadmin --id oserv set_replication auto_promote $AFTER
expect_contains "majority of six" "a majority of the region's 6 members" "$OUT"
in_sync() { odadmin --id "$1" replication | grep -q "standby .*($2:$PORT): .*; in sync;"; }
wait_until 20 in_sync oserv 10.77.0.4 || fail "the standby is not in sync: $(odadmin --id oserv replication)"
setting_at_sb() { odadmin --id sb replication | grep -q "automatic promotion: after $AFTER s"; }
wait_until 10 setting_at_sb
expect_code "standby status" 0 odadmin --id sb replication
expect_contains "the setting reached the standby" "automatic promotion: after $AFTER s without the primary, with 4 of the region's 6 members" "$OUT"

step "T, A and B cut off from S, C and D: 3 of 6, no promotion"
partition T A B
wait_until 30 grep -q "3 of 6 members confirm the primary is gone, 4 needed; not promoted" "$WORK/db/sb/oservlog" ||
  fail "no candidacy without a majority: $(odadmin --id sb replication)"
expect_code "still a standby" 0 odadmin --id sb replication
expect_contains "standby" "Replication: standby of the primary" "$OUT"
expect_contains "says why" "not promoted" "$OUT"
grep -q "voted for the standby 10.77.0.4:$PORT as TMR server of epoch 2" "$WORK/db/nc/oservlog" ||
  fail "C did not vote"
expect_code "T is still the primary" 0 odadmin --id oserv replication
expect_contains "primary of epoch 1" "Replication: primary, epoch 1" "$OUT"
heal
wait_until 20 in_sync oserv 10.77.0.4 || fail "the standby does not follow T again: $(odadmin --id sb replication)"

step "T and A cut off: 4 of 6, S promotes itself; T commits alone"
T0=$(now_ms)
partition T A
primary_at() { odadmin --id "$1" replication | grep -q "Replication: primary, epoch $2"; }
wait_until 30 primary_at sb 2 || fail "S was not promoted: $(grep 'automatic promotion' "$WORK/db/sb/oservlog" | tail -n 2)"
echo "automatic promotion: $(( $(now_ms) - T0 )) ms from the partition to S serving as primary of epoch 2 (auto_promote $AFTER s)"
grep -q "4 of 6 members confirm the primary is gone (4 needed): promoting this standby" "$WORK/db/sb/oservlog" ||
  fail "the promotion does not say its majority"
follows_s() { odadmin --id "$1" | grep -q "TMR server link = connected to the TMR server dispatcher 1 (10.77.0.4"; }
for n in nb nc nd; do wait_until 20 follows_s "$n" || fail "$n does not follow S: $(odadmin --id "$n" | grep 'TMR server link')"; done
expect_code "T, cut off, still acts as primary and commits alone" 0 commit_record oserv alone-1
expect_code "S commits" 0 commit_record sb majority-1

step "healed: the nodes refuse T, T demotes itself and reports what it committed alone"
heal
refused_t() { grep -qs "dispatcher 1 of epoch 1 is no longer the TMR server" "$WORK"/db/n[bcd]/audit.log; }
wait_until 20 refused_t || fail "no node of the majority refused T"
demoted() { odadmin --id oserv replication | grep -q "demoted TMR server"; }
wait_until 30 demoted || fail "T did not demote itself: $(odadmin --id oserv replication)"
REPORT=$(ls "$WORK"/db/oserv/divergence-epoch1-*.txt) || fail "no divergence report"
grep -q "alone-1" "$REPORT" || fail "the divergence report lacks T's lone commit: $(cat "$REPORT")"
grep -q "^.*diverged: transaction .* was committed here alone" "$WORK/db/oserv/oservlog" || fail "T's log does not name it"
wait_until 20 follows_s na || fail "A (T's side) does not follow S: $(odadmin --id na | grep 'TMR server link')"
expect_code "A's odlist" 0 odadmin --id na odlist
expect_contains "dispatcher 1 at S" "10.77.0.4" "$(grep '^ *[0-9]* *1 ' <<<"$OUT")"
expect_code "T rejoins as S's standby" 0 odadmin --id oserv rejoin
wait_until 30 in_sync sb 10.77.0.3 || fail "T does not follow S: $(odadmin --id sb replication)"

step "S killed with kill -9 under synchronous writers: T promotes itself and has every acknowledged commit"
ACKED=$WORK/acked
start_writers sb "$ACKED"
sleep 2
T0=$(now_ms)
crash sb
stop_writers
echo majority-1 >>"$ACKED"  # S's commit while T was cut off, which T took when it rejoined
wait_until 30 primary_at oserv 3 || fail "T was not promoted: $(grep 'automatic promotion' "$WORK/db/oserv/oservlog" | tail -n 2)"
echo "automatic promotion: $(( $(now_ms) - T0 )) ms from kill -9 to T serving as primary of epoch 3"
[ -s "$ACKED" ] || fail "no commit was acknowledged"
expect_eq "acknowledged commits missing at T (of $(wc -l <"$ACKED"))" 0 "$(missing_at oserv "$ACKED")"
follows_t() { odadmin --id "$1" | grep -q "TMR server link = connected to the TMR server dispatcher 1 (10.77.0.3"; }
for n in na nb nc nd; do wait_until 20 follows_t "$n" || fail "$n does not follow T"; done
expect_code "commits at T" 0 commit_record oserv after-crash
echo PASS
