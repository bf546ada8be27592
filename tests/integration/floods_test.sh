# Floods from whoever reaches a port, and running out of descriptors. Connections that close
# at once, thousands a second: the gateway logs bursts of 200 of its "refused" lines, then 5 a
# second, and counts those it left out. A gateway whose accept fails for want of a descriptor
# (EMFILE, its limit lowered with prlimit) tries again every 100 ms instead of at once (no busy
# CPU), logs it once, and takes sessions again once descriptors are free. lcfd's status page
# holds at most 8 connections, each for 5 s at most, does the same on EMFILE, and answers again
# afterwards. The endpoint stays logged in and answers downcalls throughout.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
command -v prlimit >/dev/null || { echo "SKIP: prlimit (util-linux) is not installed"; exit 77; }
PORT=$(free_port)
GWPORT=$(free_port)
SPORT=$(free_port)
start_tmr_and_node "$PORT"
expect_code "wcrtgate gw1" 0 wcrtgate --id oserv -n gw1 -p "$GWPORT" 127.0.0.3
GWLOG=$WORK/db/mn1/gateway/gw1/gateway.log
wait_until 20 grep -q 'registered with the Endpoint Manager' "$GWLOG" ||
  fail "gw1 did not register: $(cat "$GWLOG")"
EP1=$WORK/lcf/1
start_lcfd "$EP1" -g "127.0.0.3+$GWPORT" -n ep1 -p "$SPORT"
LCFD=$LAST_LCFD
wait_until 20 logged_in "$EP1" || fail "ep1 did not log in: $(cat "$EP1/lcfd.log")"

# CPU time process $1 has used, in clock ticks (utime + stime).
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
descriptors() { find "/proc/$1/fd" -mindepth 1 | wc -l; }
# flood HOST PORT N: N connections that never send a byte, held by a background shell (FLOOD).
flood() {
  bash -c "for i in \$(seq 1 $3); do exec {fd}<>/dev/tcp/$1/$2 || exit 1; done; exec sleep 120" \
    2>/dev/null &
  FLOOD=$!
  BG_PIDS="$BG_PIDS $FLOOD"
}
end_flood() { kill "$FLOOD" 2>/dev/null; wait "$FLOOD" 2>/dev/null; }
page() { bash -c "exec 3<>/dev/tcp/127.0.0.1/$SPORT; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3" 2>/dev/null; }
# at_most_busy WHAT PID: PID used under half a second of CPU in the next two seconds.
at_most_busy() {
  before=$(cpu_ticks "$2")
  sleep 2
  used=$(( $(cpu_ticks "$2") - before ))
  [ "$used" -lt 50 ] || fail "$1 used $used ticks of CPU in 2 s: it keeps trying to accept"
  echo "$1: $used ticks of CPU in 2 s"
}

step "connections that close at once, for 3 s: the gateway's log takes 200 lines, then 5 a second"
before=$(wc -l <"$GWLOG")
start=$(date +%s%N)
made=$(bash -c "n=0; end=\$((SECONDS + 3)); while [ \$SECONDS -lt \$end ]; do
  exec 3<>/dev/tcp/127.0.0.3/$GWPORT && exec 3>&- && n=\$((n + 1)); done; echo \$n")
sleep 1
added=$(( $(wc -l <"$GWLOG") - before ))
seconds=$(( ($(date +%s%N) - start) / 1000000000 + 1 ))
echo "$made connections, $added lines in the gateway's log in ${seconds} s or less"
[ "$made" -gt 400 ] || fail "only $made connections in 3 s: too few to test the limit"
[ "$added" -le $(( 200 + 5 * seconds + 5 )) ] || fail "$added lines for $made refused connections"
exec 3<>/dev/tcp/127.0.0.3/"$GWPORT" && exec 3>&-
wait_until 5 grep -q "more sessions refused or closed before a login, left out of this log]" \
  "$GWLOG" || fail "the gateway does not count the lines it left out: $(tail -n 3 "$GWLOG")"

step "the gateway out of descriptors: it waits to accept again, logs it once, then recovers"
expect_code "wgateway status" 0 wgateway --id oserv gw1 status
GW=$(echo "$OUT" | sed -n 's/.*running, pid \([0-9]*\).*/\1/p')
[ -n "$GW" ] || fail "no gateway pid in: $OUT"
SOFT=$(prlimit --pid "$GW" --nofile --raw --noheadings -o SOFT)
prlimit --pid "$GW" --nofile="$(( $(descriptors "$GW") + 3 )):" || fail "prlimit on the gateway"
flood 127.0.0.3 "$GWPORT" 12
wait_until 10 grep -q '\^accept on .*: Too many open files' "$GWLOG" ||
  fail "the gateway logged no failed accept: $(tail -n 5 "$GWLOG")"
at_most_busy "the gateway at its descriptor limit" "$GW"
expect_eq "failed accepts logged" 1 "$(grep -c '\^accept on' "$GWLOG")"
prlimit --pid "$GW" --nofile="$SOFT:" || fail "prlimit on the gateway"
end_flood
wait_until 10 grep -q "accepting again on 127.0.0.3+$GWPORT" "$GWLOG" ||
  fail "the gateway did not accept again: $(tail -n 5 "$GWLOG")"
EP2=$WORK/lcf/2
start_lcfd "$EP2" -g "127.0.0.3+$GWPORT" -n ep2 -p 0
wait_until 20 logged_in "$EP2" || fail "ep2 did not log in afterwards: $(cat "$EP2/lcfd.log")"
expect_code "ep1 answers" 0 wep --id oserv ep1 status
expect_contains "ep1 alive" "ep1 is alive." "$OUT"

step "lcfd's status page: 20 silent connections hold at most 8 descriptors, for 5 s"
idle=$(descriptors "$LCFD")
flood 127.0.0.1 "$SPORT" 20
sleep 1
held=$(( $(descriptors "$LCFD") - idle ))
[ "$held" -le 8 ] || fail "lcfd holds $held descriptors for 20 silent connections"
echo "lcfd holds $held descriptors for them"
wait_until 10 sh -c "[ \$(find /proc/$LCFD/fd -mindepth 1 | wc -l) -le $idle ]" ||
  fail "lcfd still holds $(( $(descriptors "$LCFD") - idle )) of them after 10 s"
expect_contains "the page answers meanwhile" "state: logged in" "$(page)"
end_flood

step "lcfd out of descriptors: the page waits to accept again, logs it once, then answers"
SOFT=$(prlimit --pid "$LCFD" --nofile --raw --noheadings -o SOFT)
prlimit --pid "$LCFD" --nofile="$(descriptors "$LCFD"):" || fail "prlimit on lcfd"
flood 127.0.0.1 "$SPORT" 3
wait_until 10 grep -q '\^status page: accept: Too many open files' "$EP1/lcfd.log" ||
  fail "lcfd logged no failed accept: $(tail -n 5 "$EP1/lcfd.log")"
at_most_busy "lcfd at its descriptor limit" "$LCFD"
expect_eq "failed accepts logged" 1 "$(grep -c '\^status page: accept' "$EP1/lcfd.log")"
prlimit --pid "$LCFD" --nofile="$SOFT:" || fail "prlimit on lcfd"
end_flood
wait_until 10 sh -c "bash -c 'exec 3<>/dev/tcp/127.0.0.1/$SPORT; printf \"GET / HTTP/1.0\r\n\r\n\" >&3; cat <&3' | grep -q 'state: logged in'" ||
  fail "the status page does not answer again"
expect_code "ep1 answers after all" 0 wep --id oserv ep1 status
expect_contains "ep1 alive" "ep1 is alive." "$OUT"
echo PASS
