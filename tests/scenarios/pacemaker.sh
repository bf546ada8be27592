# A real Pacemaker cluster for the scenario tests (pacemaker_test.sh, pacemaker_promotable_test.sh):
# two nodes (network, mount, UTS and pid namespaces, each with its own corosync and Pacemaker),
# a fence device (a "power switch" the test plays, which powers a node off by killing its pid
# namespace and unplugging its link), and the helpers to run commands on a node.
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
cluster_up() { node "$ADMIN" crm_mon -1 2>/dev/null | grep -q 'Online: \[ n1 n2 \]'; }
