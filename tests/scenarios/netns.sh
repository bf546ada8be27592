# Hosts for failover scenarios: network namespaces joined by a bridge (in a switch namespace),
# each with a base address 10.77.0.N; service addresses are added to and removed from hosts
# as an HA manager would move them (with a gratuitous ARP). The "shared disk" is a directory
# under $WORK that only the active host uses. Needs root; skipped (exit 77) otherwise.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
  echo "SKIP: failover scenarios need root and ip netns"
  exit 77
fi
TAG=$$
PORT=9494
SWITCH=oo${TAG}sw
HOSTS=""
ip netns add "$SWITCH"
ip -n "$SWITCH" link add br0 type bridge
ip -n "$SWITCH" link set br0 up

remove_hosts() {
  for h in $HOSTS; do ip netns del "oo$TAG$h" 2>/dev/null; done
  ip netns del "$SWITCH" 2>/dev/null
}
CLEANUP_HOOKS="$CLEANUP_HOOKS remove_hosts"

# make_host NAME N: a host with address 10.77.0.N.
make_host() {
  ns=oo$TAG$1
  ip netns add "$ns"
  ip link add "v$TAG$1" type veth peer name "e$TAG$1"
  ip link set "v$TAG$1" netns "$SWITCH"
  ip link set "e$TAG$1" netns "$ns"
  ip -n "$SWITCH" link set "v$TAG$1" master br0 up
  ip -n "$ns" link set lo up
  ip -n "$ns" link set "e$TAG$1" up
  ip -n "$ns" addr add "10.77.0.$2/24" dev "e$TAG$1"
  HOSTS="$HOSTS $1"
}

# on HOST COMMAND...: runs COMMAND on HOST (in its namespace).
on() { h=$1; shift; ip netns exec "oo$TAG$h" "$@"; }

# move_ip IP FROM TO: the service address leaves FROM (if given) and comes up on TO.
move_ip() {
  [ -n "$2" ] && ip -n "oo$TAG$2" addr del "$1/24" dev "e$TAG$2" 2>/dev/null
  ip -n "oo$TAG$3" addr add "$1/24" dev "e$TAG$3"
  if command -v arping >/dev/null; then
    on "$3" arping -q -U -c 1 -I "e$TAG$3" "$1" || true
  else
    for h in $HOSTS; do ip -n "oo$TAG$h" neigh flush dev "e$TAG$h"; done
  fi
}

# install_on HOST ID HOST_IP ETC_ROOT [oinstall flags]: an instance on the shared disk.
install_on() {
  h=$1 id=$2 ip=$3 root=$4; shift 4
  token=
  case " $* " in
    *" --managed-node "*) token=$(as "$TMR" oserv odadmin join_token) || fail "no join token" ;;
  esac
  on "$h" env OSERV_ETC_ROOT="$root" OSERV_JOIN_TOKEN="$token" oinstall --id "$id" --dbdir "$(dirname "$root")/db/$id" \
    --hostname "$ip" --port "$PORT" --force-bind --nosync "$@" >/dev/null ||
    fail "oinstall $id on $h"
}

# as ROOT ID COMMAND...: a command of instance ID (clients use its etc root).
as() { root=$1 id=$2; shift 2; env OSERV_ETC_ROOT="$root" OSERV="$id" "$@"; }

# three_hosts: hosts T (10.77.0.3), A (.1) and B (.2), and a running TMR server (instance
# oserv, service address 10.77.0.100) on T, its etc root in $TMR.
TMR=$WORK/tmr/etc
three_hosts() {
  make_host T 3
  make_host A 1
  make_host B 2
  move_ip 10.77.0.100 "" T
  install_on T oserv 10.77.0.100 "$TMR"
  on T "$TMR/oserv/oserv.rc" start >/dev/null || fail "the TMR server did not start on T"
}

# rolled_back OSERVLOG: transactions the last start rolled back (0 if none).
rolled_back() {
  n=$(sed -n 's/.*rolled back \([0-9]*\) transaction(s).*/\1/p' "$1" | tail -n 1)
  echo "${n:-0}"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# failover_time HOST CHECK...: runs CHECK on HOST every 20 ms until it succeeds; prints the
# milliseconds since $T0.
until_ok() {
  h=$1; shift
  ticks=1500
  while ! on "$h" "$@" >/dev/null 2>&1; do
    ticks=$((ticks - 1))
    [ $ticks -gt 0 ] || return 1
    sleep 0.02
  done
}
