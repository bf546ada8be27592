# A real Pacemaker cluster: two nodes (network, mount, UTS and pid namespaces, each with its own
# corosync and Pacemaker), a client host, a shared disk (ext4 on a loop device, or a shared
# directory where loop devices are missing) and a fence device: a "power switch" this script
# plays, which powers a node off by killing its pid namespace and unplugging its link. The
# resource group is docs/HA.md's crm recipe, run as written with addresses and paths
# substituted. Scenarios: kill -9 of the oserv and a hung oserv (restarted in place by the
# monitor), crm resource move and ban (a switchover notice), and a node whose corosync dies
# (fenced, then taken over: a failover notice). Each prints the time until a client on the
# network reaches the oserv again.
# shellcheck source=tests/scenarios/pacemaker.sh
. "$(dirname "$0")/pacemaker.sh"
SERVICE=10.77.0.100
client_ok() { on c odadmin --host "$SERVICE:$PORT" --ca "$WORK/region-ca.pem" --timeout 1 ping; }
client_refused() { ! client_ok; }
located() { node "$ADMIN" crm_resource --locate --resource black 2>/dev/null | sed -n 's/.* running on: //p'; }
# The cluster's view, and the oservlog's last lines where the group runs (the disk is there).
cluster_state() {
  node "$ADMIN" crm_mon -1r 2>&1 | sed -n '/Node List/,$p'
  where=$(located)
  [ -n "$where" ] && node "$where" sh -c "echo '--- oservlog on $where'; tail -n 12 '$MNT/db/black/oservlog'" 2>&1
  for n in n1 n2; do
    echo "--- the oserv agent's lines in $n's pacemaker.log"
    grep -h 'black-oserv\|ocf:openoserv\|oserv\[' "$CL/$n/log/pacemaker.log" 2>/dev/null | tail -n 15
  done
}
placed() { [ -n "$(located)" ]; }
# Started, not only placed: crm_resource locates a resource whose start is still running, and a
# fault injected then would test the start action rather than the monitor.
started_on() {
  [ "$(located)" = "$1" ] &&
    node "$ADMIN" crm_mon -1 2>/dev/null | grep -q "black-oserv.*Started $1" && client_ok
}

# recovery WHAT NODE: waits (60 s at most) until the group runs on NODE and a client reaches the
# oserv; prints the time since $T0.
recovery() {
  wait_until 60 started_on "$2" ||
    fail "$1: black is not back on $2 ($(located)); $(cluster_state)"
  echo "$1: black back on $2, reachable from the client after $(($(now_ms) - T0)) ms"
}

step "a two-node cluster and a client"
make_host c 3
boot n1 1
boot n2 2
wait_until 60 cluster_up || fail "the cluster did not form: $(node n1 crm_mon -1 2>&1)"

step "the shared disk and the instance, installed on n1 and copied to n2"
DEVICE=$CL/disk.img
if command -v modprobe >/dev/null && truncate -s 64M "$DEVICE" && LOOP=$(losetup -f --show "$DEVICE" 2>/dev/null) &&
  mkfs.ext4 -q "$LOOP"; then
  DEVICE=$LOOP
  node n1 mount "$DEVICE" "$MNT" || fail "mount $DEVICE"
else
  LOOP=""
  echo "(no loop device: the shared disk is a directory, without a Filesystem resource)"
fi
node n1 ip addr add "$SERVICE/24" dev "e${TAG}n1"
node n1 env OSERV_ETC_ROOT="$ETC" "$BIN/oinstall" --id black --dbdir "$MNT/db/black" \
  --hostname "$SERVICE" --port "$PORT" --force-bind --nosync >/dev/null || fail "oinstall"
# The client checks the oserv's TLS certificate against the region's CA (and, without a
# certificate of its own, may only ping).
node n1 cp "$MNT/db/black/ssl/ca.pem" "$WORK/region-ca.pem" || fail "copy the region CA"
node n1 ip addr del "$SERVICE/24" dev "e${TAG}n1"
[ -n "$LOOP" ] && { node n1 umount "$MNT" || fail "umount"; }
node n1 env OSERV_ETC_ROOT="$ETC" "$REPO/ha/copy-cluster.sh" black "$CL/n2/etc" >/dev/null ||
  fail "copy-cluster.sh to n2"

step "docs/HA.md's crm recipe, with fencing"
RECIPE=$(sed -n "/^crm configure <<'EOF'\$/,/^EOF\$/p" "$REPO/docs/HA.md" | sed '1d;$d')
[ -n "$RECIPE" ] || fail "no crm recipe in docs/HA.md"
RECIPE=$(echo "$RECIPE" | sed -e "s|9\.3\.187\.136|$SERVICE|; s|/dev/vg_black/lv_tivoli|$DEVICE|" \
  -e "s|/Tivoli_mn1|$MNT|; s|etc_root=/etc/Tivoli|etc_root=$ETC|; s|bindir=/usr/local/bin|bindir=$BIN|")
if [ -z "$LOOP" ]; then  # no disk to mount: the Filesystem primitive goes
  RECIPE=$(echo "$RECIPE" | sed -e '/^primitive black-fs/,/[^\\]$/d' -e 's/ black-fs / /')
fi
T0=$(now_ms)
printf '%s\n' "property stonith-enabled=true stonith-timeout=30s" \
  "primitive pdu stonith:fence_oopdu params pcmk_host_list=\"n1 n2\" op monitor interval=60s" \
  "$RECIPE" | crm_on configure >"$CL/crm.out" 2>&1 || fail "crm configure: $(cat "$CL/crm.out")"
wait_until 60 placed || fail "black was not started: $(cluster_state)"
FIRST=$(located)
recovery "first start" "$FIRST"
[ "$FIRST" = n1 ] && OTHER=n2 || OTHER=n1
LOG=$MNT/db/black/oservlog

step "kill -9 of the oserv: the monitor finds it and restarts it in place"
T0=$(now_ms)
node "$FIRST" sh -c "kill -KILL \$(head -n1 '$ETC/run/black.pid')"
wait_until 10 client_refused
recovery "kill -9" "$FIRST"

step "a hung oserv (SIGSTOP): the monitor times out, the stop kills it, it starts again"
T0=$(now_ms)
node "$FIRST" sh -c "kill -STOP \$(head -n1 '$ETC/run/black.pid')"
wait_until 10 client_refused
# In place as a rule; Pacemaker may also recover the group on the other node (seen on a loaded
# machine), which is as good for the client.
serving() { where=$(located) && [ -n "$where" ] && started_on "$where"; }
wait_until 90 serving || fail "hung oserv: black is not back: $(cluster_state)"
FIRST=$(located)
[ "$FIRST" = n1 ] && OTHER=n2 || OTHER=n1
echo "hung oserv: black back on $FIRST, reachable from the client after $(($(now_ms) - T0)) ms"
# Both monitors may have counted the hang: forget the failures, as an operator would once the
# cause is known, so that either node may run the group again.
crm_on resource cleanup black >/dev/null 2>&1 || fail "crm resource cleanup"
wait_until 30 started_on "$FIRST" || fail "black did not settle after the cleanup: $(cluster_state)"

step "crm resource move: a switchover"
T0=$(now_ms)
crm_on resource move black "$OTHER" >/dev/null 2>&1 || fail "crm resource move"
recovery "move" "$OTHER"
node "$OTHER" grep -q '\$switchover notice: physical host changed' "$LOG" ||
  fail "no switchover notice: $(node "$OTHER" tail -n 5 "$LOG")"
crm_on resource clear black >/dev/null 2>&1 || fail "crm resource clear"

step "crm resource ban: back to $FIRST"
T0=$(now_ms)
crm_on resource ban black "$OTHER" >/dev/null 2>&1 || fail "crm resource ban"
recovery "ban" "$FIRST"
crm_on resource clear black >/dev/null 2>&1 || fail "crm resource clear"

step "corosync dies on $FIRST: $OTHER fences it and takes over"
T0=$(now_ms)
node "$FIRST" pkill -KILL -x corosync
wait_until 30 test -e "$CL/pdu/$FIRST.done" || fail "$FIRST was not fenced: $(cat "$CL/pdu/log" 2>&1)"
echo "$FIRST fenced after $(($(now_ms) - T0)) ms"
ADMIN=$OTHER
recovery "corosync death" "$OTHER"
node "$OTHER" grep -q '\$failover notice: .*database taken over' "$LOG" ||
  fail "no failover notice: $(node "$OTHER" tail -n 5 "$LOG")"
echo PASS
