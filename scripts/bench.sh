#!/bin/sh
# Runs the benchmarks and prints raw baselines measured in the same run, and the ratios.
# See docs/PERFORMANCE.md for recorded results. Usage:
#   scripts/bench.sh [ping|hop|txn|recovery|endpoints|methods|downcall|replication]...   (no argument: the
#   first four)
# (HOP_BENCH_ARGS adds options to hop_bench, e.g. HOP_BENCH_ARGS=--deadlines; ENDPOINTS=N sets
# the endpoints benchmark's count, default 10000 (methods: 1000), and RATE=N paces its first
# logins at N per second instead of all at once. BENCH_KEEP=1 keeps the instances' directories,
# logs included, and says where.)
set -eu
cd "$(dirname "$0")/.."
scripts/build.sh >/dev/null
BIN=$PWD/build/bin
WORK=$(mktemp -d /tmp/oo-bench.XXXXXX)
export OSERV_ETC_ROOT="$WORK/etc"
unset OSERV WLOCALHOST OSERV_REGISTRY
cleanup() {
  for rc in "$WORK"/etc/*/oserv.rc; do [ -x "$rc" ] && "$rc" stop >/dev/null 2>&1 || true; done
  if [ -n "${BENCH_KEEP:-}" ]; then echo "kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
# Below the kernel's ephemeral range (32768 up by default), which clients' connections use.
port() { echo $((10000 + $(od -An -N2 -tu2 /dev/urandom) % 22000)); }
# endpoint_region NODES: a TMR server (eptmr, 127.0.0.2:$TPORT) and NODES managed nodes (epgwN,
# 127.0.0.N+2), each running gateway gwN on $GWPORT.
endpoint_region() {
  TPORT=$(port); GWPORT=$(port)
  "$BIN/oinstall" --id eptmr --dbdir "$WORK/eptmr" --hostname 127.0.0.2 --port "$TPORT" \
    --force-bind --nosync >/dev/null
  "$WORK/etc/eptmr/oserv.rc" start >/dev/null 2>&1
  TOKEN=$("$BIN/odadmin" --id eptmr join_token "$1")
  for n in $(seq "$1"); do
    OSERV_JOIN_TOKEN=$TOKEN "$BIN/oinstall" --id "epgw$n" --dbdir "$WORK/epgw$n" \
      --hostname "127.0.0.$((n + 2))" --port "$TPORT" --force-bind --nosync --managed-node \
      --tmr "127.0.0.2:$TPORT" >/dev/null
    "$WORK/etc/epgw$n/oserv.rc" start >/dev/null 2>&1
    "$BIN/wcrtgate" --id eptmr -n "gw$n" -p "$GWPORT" "127.0.0.$((n + 2))" >/dev/null
  done
}
# await_all_up FILE: until lcf_sim's output in FILE says every endpoint logged in (100 s at most).
await_all_up() {
  i=0; until grep -q "all up after" "$1" || [ $i -ge 200 ]; do sleep 0.5; i=$((i + 1)); done
}
[ $# -gt 0 ] || set -- ping hop txn recovery
for bench in "$@"; do
  case $bench in
    ping)
      # A one-thread round trip: where the kernel places the two ends (one CPU, or two with a
      # cross-CPU wakeup of 15-25 us on a VM) would decide the figure, so both pairs run on one.
      OPORT=$(port); RPORT=$(port)
      "$BIN/oinstall" --id oserv --dbdir "$WORK/db" --hostname 127.0.0.2 --port "$OPORT" \
        --force-bind >/dev/null
      taskset -c 0 "$WORK/etc/oserv/oserv.rc" start >/dev/null 2>&1
      echo "== dispatcher ping (bench/ping_bench.cc), all on CPU 0"
      taskset -c 0 "$BIN/ping_bench" --oserv-socket "$WORK/etc/run/oserv.sock" \
        --oserv-tls "127.0.0.2:$OPORT" --raw-socket "$WORK/raw.sock" --raw-tls "127.0.0.2:$RPORT" \
        --ca "$WORK/db/ssl/ca.pem" --identity "$WORK/db/ssl/identity.pem"
      "$WORK/etc/oserv/oserv.rc" stop >/dev/null ;;
    hop)
      # A (TMR server, relays), B (owns the object), F (forwards: --remote-calls forward).
      APORT=$(port); R1=$(port); R2=$(port)
      "$BIN/oinstall" --id hopa --dbdir "$WORK/hopa" --hostname 127.0.0.2 --port "$APORT" \
        --force-bind --nosync >/dev/null
      "$WORK/etc/hopa/oserv.rc" start >/dev/null 2>&1
      TOKEN=$("$BIN/odadmin" --id hopa join_token 2)
      for node in hopb:127.0.0.3 hopf:127.0.0.4; do
        "$BIN/oinstall" --id "${node%%:*}" --managed-node --tmr "127.0.0.2:$APORT" --token "$TOKEN" \
          --dbdir "$WORK/${node%%:*}" --hostname "${node#*:}" --port "$APORT" --force-bind \
          --nosync >/dev/null
      done
      "$WORK/etc/hopb/oserv.rc" start >/dev/null 2>&1
      "$WORK/etc/hopf/oserv.rc" start --remote-calls forward >/dev/null 2>&1
      OID=$("$BIN/wlookup" --id hopa -r ManagedNode 127.0.0.3)
      KEY=$("$BIN/wlookup" --id hopa -r ManagedNode 127.0.0.3 --url | sed 's|.*/||')
      echo "== calls on another dispatcher's object (bench/hop_bench.cc)"
      # HOP_BENCH_ARGS: more hop_bench options, split on blanks (e.g. --deadlines).
      # shellcheck disable=SC2086
      "$BIN/hop_bench" --oserv "127.0.0.2:$APORT" --oid "$OID" --raw1 "127.0.0.2:$R1" \
        --raw2 "127.0.0.3:$R2" --relay-url "corbaloc:ssliop:1.2@127.0.0.2:$APORT/$KEY" \
        --forward-url "corbaloc:ssliop:1.2@127.0.0.4:$APORT/$KEY" \
        --ca "$WORK/hopa/ssl/ca.pem" --identity "$WORK/hopa/ssl/identity.pem" \
        --owner-ior "$("$BIN/wlookup" --id hopa -r ManagedNode 127.0.0.3 --ior)" ${HOP_BENCH_ARGS:-}
      for id in hopf hopb hopa; do "$WORK/etc/$id/oserv.rc" stop >/dev/null; done ;;
    txn)
      echo "== database transactions (bench/txn_bench.cc)"
      "$BIN/txn_bench" --dir "$WORK/txn" ;;
    recovery)
      echo "== recovery of a 1 GB database from a 100 MB journal (bench/recovery_bench.cc)"
      "$BIN/recovery_bench" --dir "$WORK/recovery" ;;
    endpoints)
      # A TMR server and two managed nodes, each running a gateway; N simulated endpoints
      # (bench/lcf_sim) log in to gw1, stay idle, and re-home when gw1 is killed.
      N=${ENDPOINTS:-10000}
      endpoint_region 2
      gw_pid() { pgrep -f "oserv-gateway --label gw1 .*$WORK/" | head -n1; }
      rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
      cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
      sleep 2
      GW=$(gw_pid); RSS0=$(rss_kb "$GW")
      echo "== $N simulated endpoints on one gateway (bench/lcf_sim.cc)"
      # The raw baseline of the login rate: TLS handshakes alone, the same certificate.
      "$BIN/tls_handshakes" --identity "$WORK/epgw1/ssl/identity.pem" --address 127.0.0.5 \
        --count "$N"
      "$BIN/lcf_sim" --gateway "127.0.0.3+$GWPORT" --count "$N" --dir "$WORK/sim" --duration 150 \
        --report 10 --jitter 5 ${RATE:+--rate "$RATE"} >"$WORK/sim.out" 2>&1 &
      SIM=$!
      await_all_up "$WORK/sim.out"
      # Idle CPU over 20 s, then the RSS once the gateway has trimmed its heap (30 s after the
      # storm's logins).
      sleep 5
      T0=$(cpu_ticks "$GW"); sleep 20; T1=$(cpu_ticks "$GW")
      sleep 10
      RSS1=$(rss_kb "$GW")
      HZ=$(getconf CLK_TCK)
      tail -n1 "$WORK/sim.out"
      UP=$(grep -o "all up after [0-9.]*" "$WORK/sim.out" | head -n1 | awk '{print $4}')
      echo "initial logins: $(awk "BEGIN{printf \"%.0f\", $N / $UP}") per second"
      echo "gateway RSS: $RSS0 kB idle, $RSS1 kB with $N endpoints: $(( (RSS1 - RSS0) * 1024 / N )) bytes per endpoint"
      echo "gateway CPU with $N idle endpoints (heartbeats every 30 s): $(awk "BEGIN{printf \"%.2f\", ($T1 - $T0) * 100 / $HZ / 20}")%"
      T0=$(date +%s%N)
      LINES=$("$BIN/wep" --id eptmr ls | wc -l)
      echo "wep ls: $LINES lines in $(( ($(date +%s%N) - T0) / 1000000 )) ms"
      echo "-- gw1 killed (kill -9); its oserv restarts it, gw2 is the alternate"
      kill -KILL "$GW"
      wait "$SIM" || true
      tail -n1 "$WORK/sim.out"
      # The TMR server down: N new endpoints log in to gw1, the TMR server stops, gw1 is killed
      # and restarted by its oserv, and serves the normal logins from its copy of its endpoints.
      echo "-- $N new endpoints on gw1; the TMR server stopped, then gw1 killed (kill -9)"
      "$BIN/lcf_sim" --gateway "127.0.0.3+$GWPORT" --count "$N" --dir "$WORK/sim2" --prefix new \
        --duration 70 --report 10 --jitter 5 >"$WORK/sim2.out" 2>&1 &
      SIM=$!
      await_all_up "$WORK/sim2.out"
      sleep 5  # gw1's copy of its endpoints is saved 0.2 s after a change
      "$WORK/etc/eptmr/oserv.rc" stop >/dev/null
      GWLOG="$WORK/epgw1/gateway/gw1/gateway.log"
      BEFORE=$(wc -l <"$GWLOG")
      kill -KILL "$(gw_pid)"
      wait "$SIM" || true
      tail -n1 "$WORK/sim2.out"
      echo "gw1 after its restart: $(tail -n +"$BEFORE" "$GWLOG" | grep -c ': normal login') normal logins, $(tail -n +"$BEFORE" "$GWLOG" | grep -c 'Endpoint Manager not reached') times the Endpoint Manager not reached"
      for id in epgw2 epgw1; do "$WORK/etc/$id/oserv.rc" stop >/dev/null; done ;;
    methods)
      # The method cache: one installed method called on N endpoints (default 1,000) of one
      # gateway, twice. The gateway fetches the program from the Endpoint Manager once; each
      # endpoint gets it once, with the first call; the second round sends no program at all.
      N=${ENDPOINTS:-1000}
      endpoint_region 1
      sleep 2
      "$BIN/lcf_sim" --gateway "127.0.0.3+$GWPORT" --count "$N" --dir "$WORK/sim" --duration 0 \
        --report 1 >"$WORK/sim.out" 2>&1 &
      SIM=$!
      await_all_up "$WORK/sim.out"
      { echo '#!/bin/sh'; head -c 15000 /dev/urandom | base64 | sed 's/^/# /'; echo 'echo ok'; } \
        >"$WORK/inventory"
      chmod 755 "$WORK/inventory"
      "$BIN/wclass" --id eptmr method TMF_Endpoint::Endpoint inventory "$WORK/inventory" >/dev/null
      "$BIN/wep" --id eptmr ls | awk '/^    / {print $1}' >"$WORK/oids"
      echo "== method cache: one method ($(wc -c <"$WORK/inventory") bytes) on $(wc -l <"$WORK/oids") endpoints of one gateway"
      for round in 1 2; do
        T0=$(date +%s%N)
        xargs -P 4 -I{} "$BIN/idlcall" --id eptmr {} invoke inventory <"$WORK/oids" >/dev/null ||
          echo "round $round: some calls failed"
        MS=$(( ($(date +%s%N) - T0) / 1000000 ))
        sleep 1.5  # the simulator's next report line
        echo "round $round: $(wc -l <"$WORK/oids") calls in $MS ms; gateway fetches from the Endpoint Manager so far: $(grep -c 'fetched from the Endpoint Manager' "$WORK/epgw1/gateway/gw1/gateway.log"); endpoints: $(tail -n1 "$WORK/sim.out" | grep -o 'downcalls [0-9]*; fetched [0-9]* ([0-9]* bytes)')"
      done
      kill -TERM "$SIM"; wait "$SIM" || true
      for id in epgw1 eptmr; do "$WORK/etc/$id/oserv.rc" stop >/dev/null; done ;;
    downcall)
      # One endpoint (lcf_sim, 127.0.0.1) on gw1 (127.0.0.3); its built-in ping called through
      # the TMR server (127.0.0.2) in a loop, beside raw TCP, raw TLS and omniORB-over-TLS relays
      # at the same three addresses (each --raw PORT, PORT+1 and PORT+2).
      endpoint_region 1
      sleep 2
      "$BIN/lcf_sim" --gateway "127.0.0.3+$GWPORT" --count 1 --dir "$WORK/sim" --duration 0 \
        --report 1 >"$WORK/sim.out" 2>&1 &
      SIM=$!
      await_all_up "$WORK/sim.out"
      OID=$("$BIN/wep" --id eptmr ls | awk '/^    / {print $1; exit}')
      echo "== downcall round trip (bench/downcall_bench.cc)"
      "$BIN/downcall_bench" --tmr "127.0.0.2:$TPORT" --endpoint "$OID" \
        --ca "$WORK/eptmr/ssl/ca.pem" --identity "$WORK/eptmr/ssl/identity.pem" \
        --raw-tmr "127.0.0.2:$(port)" --raw-gateway "127.0.0.3:$(port)" --raw-endpoint "127.0.0.1:$(port)"
      kill -TERM "$SIM"; wait "$SIM" || true
      for id in epgw1 eptmr; do "$WORK/etc/$id/oserv.rc" stop >/dev/null; done ;;
    replication)
      # Durable commits (fsync) at a TMR server with a synchronous standby (127.0.0.2, standby
      # 127.0.0.3) against a TMR server without one (127.0.0.4), and against it while another
      # (127.0.0.5) commits as hard on the same disk, then the standby's lag under
      # load in asynchronous mode, and the catch-up rate of a standby that was stopped.
      RPORT=$(port)
      "$BIN/oinstall" --id rprim --dbdir "$WORK/rprim" --hostname 127.0.0.2 --port "$RPORT" \
        --force-bind --method-user root >/dev/null
      for n in 4 5; do
        "$BIN/oinstall" --id "rlocal$n" --dbdir "$WORK/rlocal$n" --hostname "127.0.0.$n" \
          --port "$RPORT" --force-bind --method-user root >/dev/null
      done
      for id in rprim rlocal4 rlocal5; do "$WORK/etc/$id/oserv.rc" start >/dev/null; done
      OSERV_JOIN_TOKEN=$("$BIN/odadmin" --id rprim join_token 1) "$BIN/oinstall" --id rstandby \
        --standby --tmr "127.0.0.2:$RPORT" --dbdir "$WORK/rstandby" --hostname 127.0.0.3 \
        --port "$RPORT" >/dev/null
      "$WORK/etc/rstandby/oserv.rc" start >/dev/null
      "$BIN/odadmin" --id rprim set_replication sync >/dev/null
      sock() { echo "$WORK/etc/run/$1.sock"; }
      echo "== synchronous replicated commit against the local synced commit (bench/replication_bench.cc)"
      "$BIN/replication_bench" --local "$(sock rlocal4)" --replicated "$(sock rprim)" \
        --beside "$(sock rlocal5)"
      "$BIN/odadmin" --id rprim set_replication async >/dev/null
      "$BIN/replication_bench" --replicated "$(sock rprim)" --lag 5 --clients 8
      "$WORK/etc/rstandby/oserv.rc" stop >/dev/null
      "$BIN/replication_bench" --replicated "$(sock rprim)" --load 5000
      behind() { "$BIN/odadmin" --id rprim replication | sed -n 's/.*behind \([0-9]*\) transactions.*/\1/p'; }
      T0=$(date +%s%N)
      "$WORK/etc/rstandby/oserv.rc" start >/dev/null
      i=0; until [ "$(behind)" = 0 ] || [ $i -ge 600 ]; do sleep 0.05; i=$((i + 1)); done
      MS=$(( ($(date +%s%N) - T0) / 1000000 ))
      echo "catch-up of a standby 5000 transactions behind: ${MS} ms from its start (start included), $(( 5000 * 1000 / (MS > 0 ? MS : 1) )) transactions per second"
      for id in rstandby rprim rlocal4 rlocal5; do "$WORK/etc/$id/oserv.rc" stop >/dev/null; done ;;
    *) echo "bench.sh: unknown benchmark '$bench' (ping, hop, txn, recovery, endpoints, methods, downcall, replication)" >&2; exit 2 ;;
  esac
done
