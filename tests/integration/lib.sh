# Shared helpers for the integration tests: each test gets its own etc root and databases in a
# temp directory (short, for Unix socket names), random free ports, and a cleanup that kills
# every oserv it started.
set -u
BIN=${OPENOSERV_BIN:?OPENOSERV_BIN must name the bin directory of the build}
export PATH=$BIN:$PATH
TEST_NAME=$(basename "$0" .sh)
WORK=$(mktemp -d "/tmp/oo-${TEST_NAME%_test}.XXXXXX")
export OSERV_ETC_ROOT=$WORK/etc
unset OSERV WLOCALHOST OSERV_REGISTRY NOTIFY_SOCKET
BG_PIDS=""

CLEANUP_HOOKS=""
cleanup() {
  find "$WORK" -path '*/run/*.pid' 2>/dev/null | while read -r pidfile; do
    pid=$(head -n1 "$pidfile" 2>/dev/null)
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  done
  for pid in $BG_PIDS; do kill -KILL "$pid" 2>/dev/null; done
  for hook in $CLEANUP_HOOKS; do "$hook"; done
  grep -lx "$WORK" "$PORT_CLAIMS"/*/owner 2>/dev/null | xargs -r dirname | xargs -r rm -rf
  [ -n "${KEEP_WORK:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL ($TEST_NAME): $*" >&2
  for log in "$WORK"/db/*/oservlog "$WORK"/db/*/gateway/*/gateway.log; do
    [ -e "$log" ] || continue
    echo "--- $log" >&2
    tail -n 20 "$log" >&2
    # Sessions that ended or were refused are the usual clue, and scroll away in a storm.
    case $log in */gateway.log) grep -m 10 -e 'ended' -e 'refused' "$log" | sed 's/^/  /' >&2 ;; esac
  done
  exit 1
}
step() { echo "--- $*"; }

expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  [ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}
expect_contains() {  # expect_contains WHAT NEEDLE HAYSTACK
  case "$3" in *"$2"*) ;; *) fail "$1: '$2' not found in: $3" ;; esac
}
# expect_code WHAT EXPECTED COMMAND...: runs COMMAND, keeps its output in $OUT.
expect_code() {
  what=$1 expected=$2; shift 2
  OUT=$("$@" 2>&1); code=$?
  [ "$code" = "$expected" ] || fail "$what: exit $code (expected $expected): $OUT"
}

# A port nobody listens on at 127.0.0.1-3 (bash connects to see), claimed with an atomic mkdir
# so that tests running in parallel never pick the same one. Below the kernel's ephemeral range
# (ip_local_port_range), where any client's connection may be given the same port meanwhile.
PORT_CLAIMS=/tmp/openoserv-test-ports
mkdir -p "$PORT_CLAIMS"
EPHEMERAL_LOW=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$EPHEMERAL_LOW" -gt 12000 ] 2>/dev/null || EPHEMERAL_LOW=32768
free_port() {
  while :; do
    port=$((10000 + RANDOM % (EPHEMERAL_LOW - 10000)))
    mkdir "$PORT_CLAIMS/$port" 2>/dev/null || continue
    echo "$WORK" >"$PORT_CLAIMS/$port/owner"
    busy=0
    for ip in 127.0.0.1 127.0.0.2 127.0.0.3; do
      (exec 3<>"/dev/tcp/$ip/$port") 2>/dev/null && busy=1
    done
    [ $busy = 0 ] && { echo "$port"; return; }
  done
}

# install_instance ID HOST PORT [oinstall flags...]: prints oinstall's output.
# Method programs run as root (the tests' programs live in $WORK, 0700), unless
# TEST_METHOD_USER names another account (oinstall's default is nobody).
# join_token [TMR_ID [USES]]: a token new managed nodes join the region of instance TMR_ID
# (default oserv) with, good for USES joins (default 10).
join_token() { odadmin --id "${1:-oserv}" join_token "${2:-10}"; }

# install_instance ID HOST PORT [oinstall flags]: a managed node (--managed-node) joins with a
# token of instance $TMR_ID (default oserv) unless $OSERV_JOIN_TOKEN or --token gives one.
install_instance() {
  id=$1 host=$2 port=$3; shift 3
  case " $* " in
    *" --managed-node "*) [ -n "${OSERV_JOIN_TOKEN:-}" ] || OSERV_JOIN_TOKEN=$(join_token "${TMR_ID:-oserv}" 1) ;;
  esac
  OSERV_JOIN_TOKEN=${OSERV_JOIN_TOKEN:-} oinstall --id "$id" --dbdir "$WORK/db/$id" --hostname "$host" --port "$port" --nosync \
    --method-user "${TEST_METHOD_USER:-root}" "$@" || fail "oinstall $id failed"
}

rc() { "$OSERV_ETC_ROOT/$1/oserv.rc" "${@:2}"; }

# start_tmr_and_node PORT: the usual small region, both started: TMR server "oserv" at
# 127.0.0.2:PORT and managed node "mn1" at 127.0.0.3:PORT, force-bound; exports
# OSERV_JOIN_TOKEN (10 joins) for more nodes.
start_tmr_and_node() {
  install_instance oserv 127.0.0.2 "$1" --force-bind >/dev/null
  expect_code "start TMR" 0 rc oserv start
  OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
  install_instance mn1 127.0.0.3 "$1" --managed-node --tmr "127.0.0.2:$1" --force-bind >/dev/null
  expect_code "start mn1" 0 rc mn1 start
}

# start_lcfd DIR ARGS...: an lcfd in the background (logins and discovery retried every
# second, log level 3), its pid in LAST_LCFD; logged_in DIR: its login was accepted.
start_lcfd() {
  dir=$1; shift
  lcfd -C "$dir" -D login_interval=1 -D udp_interval=1 -d 3 "$@" >>"$WORK/lcfd.out" 2>&1 &
  BG_PIDS="$BG_PIDS $!"
  # shellcheck disable=SC2034 # read by the tests
  LAST_LCFD=$!
}
logged_in() { grep -q "login to gateway .* accepted" "$1/lcfd.log" && [ -e "$1/lcf.dat" ]; }

# wait_until SECONDS COMMAND...: polls every 0.1 s.
wait_until() {
  ticks=$(($1 * 10)); shift
  while [ "$ticks" -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
    ticks=$((ticks - 1))
  done
  return 1
}

pid_of() { head -n1 "$OSERV_ETC_ROOT/run/$1.pid"; }

# crash ID: kill -9 the oserv of instance ID and wait until the process is really gone (a
# killed process holds its locks and port until the kernel has torn it down, which may be after
# its main thread already shows as a zombie).
crash() {
  victim=$(pid_of "$1")
  kill -KILL "$victim"
  wait_until 10 gone "$victim" || fail "oserv $1 (pid $victim) survived kill -9"
  wait_until 10 lock_free "$1" || fail "oserv $1 (pid $victim) still holds its pid-file lock"
}
# True when no process holds the pid-file lock of instance $1.
lock_free() {
  ( flock -n -E 200 9 ) 2>/dev/null 9<"$OSERV_ETC_ROOT/run/$1.pid"
  [ $? -ne 200 ]
}
# True when process $1 no longer exists (a zombie nobody has reaped counts as gone).
gone() {
  [ -r "/proc/$1/stat" ] || return 0
  [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}

# transient_threads ID: the method threads odstat -c lists at instance ID, without the resident
# ones (the Endpoint Manager at a TMR server, gateways), which run as long as the oserv.
transient_threads() { odstat --id "$1" -c | grep -Ev ' (endpoint_manager|gateway)$' || true; }

# held_once RUN N GW...: true when each of the N endpoints `wep ls` lists has exactly one live
# session among gateways GW..., at the gateway it is assigned to (each gateway asked with
# `wgateway GW sessions`). RUN is a command prefix that runs a client of the region (word-split:
# "env OSERV=oserv"). What is wrong is left in $WORK/held.why.
held_once() {
  run=$1 n=$2; shift 2
  : >"$WORK/held"
  for gw in "$@"; do
    $run wgateway "$gw" sessions >"$WORK/held.$gw" 2>&1 || { cp "$WORK/held.$gw" "$WORK/held.why"; return 1; }
    awk -v g="$gw" '{print $1, g}' "$WORK/held.$gw" >>"$WORK/held"
  done
  sort -o "$WORK/held" "$WORK/held"
  $run wep ls >"$WORK/assigned" 2>&1 || { cp "$WORK/assigned" "$WORK/held.why"; return 1; }
  awk '/^G /{g=$3; next} {print $1, g}' "$WORK/assigned" | sort -o "$WORK/assigned"
  twice=$(cut -d' ' -f1 "$WORK/held" | uniq -d | head -n 3 | tr '\n' ' ')
  if [ -n "$twice" ]; then
    echo "held by two gateways: $twice" >"$WORK/held.why"
    return 1
  fi
  if [ "$(wc -l <"$WORK/held")" != "$n" ] || [ "$(wc -l <"$WORK/assigned")" != "$n" ]; then
    echo "$(wc -l <"$WORK/held") sessions and $(wc -l <"$WORK/assigned") assignments for $n endpoints" >"$WORK/held.why"
    return 1
  fi
  cmp -s "$WORK/held" "$WORK/assigned" && return 0
  echo "sessions not where assigned: $(diff "$WORK/held" "$WORK/assigned" | head -n 6 | tr '\n' ' ')" >"$WORK/held.why"
  return 1
}

# commit_record ID KEY: one transaction at instance ID writing objects/KEY = "v-KEY" (odb).
# start_nap NODE SECONDS: a method thread on NODE for SECONDS, in the background: the method
# nap of class Sleeper (installed at the TMR server, instance oserv) on an object NODE owns,
# whose OID is left in $NAPPER.
start_nap() {
  printf '#!/bin/sh\nsleep "$3"\n' >"$WORK/nap.sh"
  chmod 755 "$WORK/nap.sh"
  wclass --id oserv method Sleeper nap "$WORK/nap.sh" >/dev/null || fail "install nap"
  NAPPER=$(wclass --id "$1" create Sleeper Sleeper "napper-$1") || fail "create: $NAPPER"
  objcall --id "$1" "$NAPPER" nap "$2" >/dev/null 2>&1 &
  BG_PIDS="$BG_PIDS $!"
}
commit_record() {
  t=$(odb --id "$1" begin) && odb --id "$1" put "$t" objects "$2" "v-$2" && odb --id "$1" commit "$t"
}
# start_writers ID FILE [PREFIX]: three clients committing records at instance ID until killed,
# each key (PREFIX w<client>-<n>) appended to FILE once its commit was acknowledged; their pids
# in $WRITERS (and $BG_PIDS).
start_writers() {
  : >"$2"
  WRITERS=""
  for w in 1 2 3; do
    ( i=0; while :; do i=$((i + 1)); commit_record "$1" "${3:-}w$w-$i" >/dev/null 2>&1 && echo "${3:-}w$w-$i" >>"$2"; done ) &
    WRITERS="$WRITERS $!"
  done
  BG_PIDS="$BG_PIDS $WRITERS"
}
stop_writers() {
  for pid in $WRITERS; do kill -KILL "$pid" 2>/dev/null; done
  for pid in $WRITERS; do wait "$pid" 2>/dev/null; done
}
# missing_at ID FILE: how many keys of FILE instance ID does not hold (each named on stderr).
missing_at() {
  t=$(odb --id "$1" begin) || { echo "odb at $1 failed: $t" >&2; echo 999999; return; }
  n=0
  while read -r key; do
    [ "$(odb --id "$1" get "$t" objects "$key" 2>/dev/null)" = "v-$key" ] || { n=$((n + 1)); echo "lost: $key" >&2; }
  done <"$2"
  odb --id "$1" abort "$t" >/dev/null
  echo "$n"
}

# standby_region PORT: a TMR server tmr (127.0.0.2), its standby sb (127.0.0.3) and a managed node mn
# (127.0.0.4), all on PORT and started.
standby_region() {
  local port=$1
  install_instance tmr 127.0.0.2 "$port" --force-bind >/dev/null
  expect_code "start TMR" 0 rc tmr start
  OSERV_JOIN_TOKEN=$(join_token tmr 2) && export OSERV_JOIN_TOKEN
  expect_code "oinstall standby" 0 oinstall --id sb --standby --tmr "127.0.0.2:$port" \
    --dbdir "$WORK/db/sb" --hostname 127.0.0.3 --port "$port" --nosync
  TMR_ID=tmr install_instance mn 127.0.0.4 "$port" --managed-node --tmr "127.0.0.2:$port" --force-bind >/dev/null
  expect_code "start mn" 0 rc mn start --join-interval 30
  expect_code "start standby" 0 rc sb start
}
