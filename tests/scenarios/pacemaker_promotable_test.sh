# The OCF agent as a Pacemaker promotable clone (issue 16, docs/REPLICATION.md): a TMR server on
# n1 and its standby on n2, each with its own database and no shared disk, one clone instance on
# each node. Pacemaker finds n1's instance promoted (the primary) and n2's unpromoted with a
# promotion score from its replication state. A move of the promoted role is a demote (the
# primary steps down) and a promote; the stepped-down one rejoins as the standby. Then the node
# of the primary loses corosync, is fenced, and Pacemaker promotes the standby: every commit
# acknowledged in synchronous mode is there. Prints the time to each new primary.
# shellcheck source=tests/scenarios/pacemaker.sh
. "$(dirname "$0")/pacemaker.sh"

# black ON COMMAND...: a client of the instance black on node ON (its Unix socket there).
black() { n=$1; shift; node "$n" env OSERV_ETC_ROOT="$ETC" "$BIN/$1" --id black "${@:2}"; }
role_of() { black "$1" odadmin replication 2>/dev/null | head -n 1; }
is_primary() { role_of "$1" | grep -q "Replication: primary"; }
in_sync_at() { black "$1" odadmin replication 2>/dev/null | grep -q "($2:$PORT): .*; in sync;"; }
promoted_on() { node "$ADMIN" crm_mon -1 2>/dev/null | grep -Eq "(Promoted|Masters): \[ $1 \]"; }
clone_state() {
  node "$ADMIN" crm_mon -1r 2>&1 | sed -n '/Node List/,$p'
  for n in $NODES; do
    [ -e "$CL/$n/init" ] || continue
    echo "--- $n: $(role_of "$n")"
    node "$n" tail -n 6 "$CL/$n/db/black/oservlog" 2>&1
    grep -h 'black-oserv\|oserv\[' "$CL/$n/log/pacemaker.log" 2>/dev/null | tail -n 8
  done
}
put() {  # put NODE KEY: one committed record at the instance on NODE
  t=$(black "$1" odb begin) && black "$1" odb put "$t" objects "$2" "v-$2" >/dev/null &&
    black "$1" odb commit "$t" >/dev/null
}
has() {  # has NODE KEY
  t=$(black "$1" odb begin) || return 1
  [ "$(black "$1" odb get "$t" objects "$2" 2>/dev/null)" = "v-$2" ]; r=$?
  black "$1" odb abort "$t" >/dev/null
  return $r
}

step "a two-node cluster"
boot n1 1
boot n2 2
wait_until 60 cluster_up || fail "the cluster did not form: $(node n1 crm_mon -1 2>&1)"

step "the TMR server on n1 and its standby on n2, each on its own disk"
black n1 oinstall --dbdir "$CL/n1/db/black" --hostname 10.77.0.1 --port "$PORT" --force-bind \
  --nosync >/dev/null || fail "oinstall on n1"
black n1 oserv --join-interval 1 >/dev/null || fail "start on n1"
TOKEN=$(black n1 odadmin join_token) || fail "join token: $TOKEN"
node n2 env OSERV_ETC_ROOT="$ETC" OSERV_JOIN_TOKEN="$TOKEN" "$BIN/oinstall" --id black --standby \
  --tmr "10.77.0.1:$PORT" --dbdir "$CL/n2/db/black" --hostname 10.77.0.2 --port "$PORT" \
  --nosync >/dev/null || fail "oinstall --standby on n2"
black n1 odadmin set_replication sync >/dev/null || fail "set_replication sync"
black n1 odadmin shutdown 1 >/dev/null 2>&1
wait_until 20 sh -c "! node n1 env OSERV_ETC_ROOT='$ETC' '$BIN/odadmin' --id black ping" || fail "black did not stop on n1"

step "a promotable clone of the agent, with fencing"
printf '%s\n' "property stonith-enabled=true stonith-timeout=30s" \
  "primitive pdu stonith:fence_oopdu params pcmk_host_list=\"n1 n2\" op monitor interval=60s" \
  "primitive black-oserv ocf:openoserv:oserv params instance=black etc_root=\"$ETC\" bindir=\"$BIN\" options=\"--join-interval 1\" peers=\"10.77.0.1:$PORT 10.77.0.2:$PORT\" op start timeout=90s op stop timeout=30s op promote timeout=60s op demote timeout=60s op monitor interval=3s timeout=30s role=Master op monitor interval=4s timeout=30s role=Slave" \
  "clone black-clone black-oserv meta promotable=true promoted-max=1 promoted-node-max=1 clone-max=2 clone-node-max=1" \
  | crm_on configure >"$CL/crm.out" 2>&1 || fail "crm configure: $(cat "$CL/crm.out")"
wait_until 90 promoted_on n1 || fail "n1's instance is not promoted: $(clone_state)"
wait_until 60 in_sync_at n1 10.77.0.2 || fail "the standby on n2 is not in sync: $(clone_state)"
put n1 before-move || fail "a commit at n1"

step "the promoted role moved to n2: n1 steps down, n2 is promoted, n1 rejoins as its standby"
T0=$(now_ms)
crm_on resource move black-clone n2 --promoted >"$CL/move.out" 2>&1 ||
  node "$ADMIN" crm_resource --move --resource black-clone --node n2 --promoted >"$CL/move.out" 2>&1 ||
  fail "move the promoted role: $(cat "$CL/move.out")"
wait_until 90 is_primary n2 || fail "n2 was not promoted: $(clone_state)"
echo "move: n2 the primary $(( $(now_ms) - T0 )) ms after the move"
wait_until 90 promoted_on n2 || fail "Pacemaker does not show n2 promoted: $(clone_state)"
has n2 before-move || fail "n1's commit is not at n2"
wait_until 90 in_sync_at n2 10.77.0.1 || fail "n1 did not rejoin as n2's standby: $(clone_state)"
grep -q "stepping down at transaction" "$CL/n1/db/black/oservlog" || fail "n1 did not step down"
crm_on resource clear black-clone >/dev/null 2>&1 || node "$ADMIN" crm_resource --clear --resource black-clone >/dev/null 2>&1

step "corosync dies on n2 (the primary's node): n1 fences it, Pacemaker promotes n1"
ADMIN=n1
for i in 1 2 3 4 5; do put n2 "acked-$i" || fail "sync commit $i at n2"; done
T0=$(now_ms)
node n2 pkill -KILL -x corosync
wait_until 30 test -e "$CL/pdu/n2.done" || fail "n2 was not fenced: $(cat "$CL/pdu/log" 2>&1)"
wait_until 90 is_primary n1 || fail "n1 was not promoted: $(clone_state)"
echo "failover: n1 the primary $(( $(now_ms) - T0 )) ms after corosync died on n2"
for i in 1 2 3 4 5; do has n1 "acked-$i" || fail "acknowledged commit acked-$i is not at n1"; done
wait_until 60 promoted_on n1 || fail "Pacemaker does not show n1 promoted: $(clone_state)"
put n1 after-failover || fail "a commit at the new primary"
echo PASS
