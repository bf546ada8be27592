# A real Pacemaker cluster: two nodes (network, mount, UTS and pid namespaces, each with its own
# corosync and Pacemaker), a client host, a shared disk (ext4 on a loop device, or a shared
# directory where loop devices are missing) and a fence device: a "power switch" this script
# plays, which powers a node off by killing its pid namespace and unplugging its link. The
# resource group is docs/HA.md's crm recipe, run as written with addresses and paths
# substituted. Scenarios: kill -9 of the oserv and a hung oserv (restarted in place by the
# monitor), crm resource move and ban (a switchover notice), and a node whose corosync dies
# (fenced, then taken over: a failover notice). Each prints the time until a client on the
# network reaches the oserv again.
# Skipped (77) without root, network namespaces, corosync, Pacemaker or crmsh.
for tool in corosync pacemakerd crm crm_resource nsenter unshare; do
  command -v "$tool" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin command -v "$tool" >/dev/null 2>&1 ||
    { echo "SKIP: $tool is not installed (Debian: pacemaker corosync crmsh)"; exit 77; }
done
export PATH=$PATH:/usr/sbin
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
SERVICE=10.77.0.100
# Outside $WORK: lib.sh's cleanup kills the pids of $WORK's pid files, and these are pids of the
# nodes' namespaces.
CL=$(mktemp -d /tmp/oo-pcmk.XXXXXX)
ETC=$CL/etc          # every node's etc root, at this one path
MNT=$CL/disk         # where the shared disk is mounted on the active node
mkdir -p "$ETC" "$MNT" "$CL/sbin" "$CL/ocf/openoserv" "$CL/pdu"
ln -s "$REPO/ha/ocf/oserv" "$CL/ocf/openoserv/oserv"
NODES=""

power_off() {  # power_off NODE: the node's processes die at once, its link goes down
  pid=$(cat "$CL/$1/init" 2>/dev/null) || return 0
  kill -KILL "$pid" 2>/dev/null
  wait_until 10 gone "$pid"
  ip -n "oo$TAG$1" link set "e$TAG$1" down 2>/dev/null
  rm -f "$CL/$1/init"
}
teardown() {
  for n in $NODES; do power_off "$n"; done
  [ -n "${LOOP:-}" ] && losetup -d "$LOOP" 2>/dev/null
  rm -rf "$CL"
}
CLEANUP_HOOKS="teardown $CLEANUP_HOOKS"

# node NAME COMMAND...: runs COMMAND on cluster node NAME (all of its namespaces).
node() { n=$1; shift; nsenter -t "$(cat "$CL/$n/init")" -m -n -u -p -- "$@"; }

# The fence agent (Red Hat fence-agent protocol: arguments on stdin). "off" and "reboot" ask the
# power switch (this script) and wait for it; a fenced node stays off.
cat >"$CL/sbin/fence_oopdu" <<AGENT
#!/bin/sh
action=reboot; plug=""
[ "\${1:-}" = "-o" ] && action=\$2
while IFS='=' read -r k v; do
  case "\$k" in action|option) action=\$v ;; plug|port|nodename) [ -n "\$plug" ] || plug=\$v ;; esac
done
case "\$action" in
  metadata) cat <<'XML'
<?xml version="1.0" ?>
<resource-agent name="fence_oopdu" shortdesc="openoserv test power switch">
<longdesc>Powers off a test cluster node (a set of namespaces).</longdesc>
<parameters>
<parameter name="action" unique="0" required="1"><getopt mixed="-o, --action=[action]"/><content type="string" default="reboot"/><shortdesc lang="en">Fencing action</shortdesc></parameter>
<parameter name="plug" unique="0" required="1"><getopt mixed="-n, --plug=[id]"/><content type="string"/><shortdesc lang="en">Node to fence</shortdesc></parameter>
</parameters>
<actions><action name="on"/><action name="off"/><action name="reboot"/><action name="status"/><action name="list"/><action name="monitor"/><action name="metadata"/></actions>
</resource-agent>
XML
  ;;
  off|reboot)
    touch "$CL/pdu/\$plug.off"
    for _ in \$(seq 300); do [ -e "$CL/pdu/\$plug.done" ] && exit 0; sleep 0.1; done
    exit 1 ;;
  status) [ -e "$CL/pdu/\$plug.done" ] && exit 2; exit 0 ;;
  *) exit 0 ;;
esac
AGENT
chmod +x "$CL/sbin/fence_oopdu"
power_switch() {
  while sleep 0.1; do
    for req in "$CL"/pdu/*.off; do
      [ -e "$req" ] || continue
      n=$(basename "$req" .off)
      power_off "$n"
      echo "$(date +%T.%N | cut -c1-12) power switch: $n off" >>"$CL/pdu/log"
      rm -f "$req"
      touch "$CL/pdu/$n.done"
    done
  done
}
power_switch &
BG_PIDS="$BG_PIDS $!"

corosync_conf() {  # corosync_conf NAME: two nodes, knet, a 1 s token
  cat <<CONF
totem {
  version: 2
  cluster_name: openoserv
  transport: knet
  crypto_cipher: none
  crypto_hash: none
  token: 1000
}
nodelist {
  node {
    ring0_addr: 10.77.0.1
    name: n1
    nodeid: 1
  }
  node {
    ring0_addr: 10.77.0.2
    name: n2
    nodeid: 2
  }
}
quorum {
  provider: corosync_votequorum
  two_node: 1
}
logging {
  to_logfile: yes
  logfile: $CL/$1/corosync.log
  to_syslog: no
  to_stderr: no
  timestamp: on
}
CONF
}

boot() {  # boot NAME N: a cluster node with address 10.77.0.N, corosync and Pacemaker running
  make_host "$1" "$2"
  mkdir -p "$CL/$1"
  corosync_conf "$1" >"$CL/$1/corosync.conf"
  ip netns exec "oo$TAG$1" unshare -m -u -p -f --mount-proc \
    "$HERE/cluster_node.sh" "$1" "$CL/$1" "$CL/sbin" "$CL/ocf" "$ETC" 2>"$CL/$1/unshare.err" &
  holder=$!
  wait_until 10 test -e "$CL/$1/booted" || fail "node $1 did not boot"
  pgrep -P "$holder" >"$CL/$1/init" || fail "node $1 has no init"
  NODES="$NODES $1"
  node "$1" corosync -c "$CL/$1/corosync.conf" || fail "corosync did not start on $1"
  node "$1" sh -c "setsid pacemakerd >'$CL/$1/pacemakerd.out' 2>&1 </dev/null &"
}

ADMIN=n1  # where the crm commands run
crm_on() { node "$ADMIN" crm "$@"; }
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
cluster_up() { node "$ADMIN" crm_mon -1 2>/dev/null | grep -q 'Online: \[ n1 n2 \]'; }
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
