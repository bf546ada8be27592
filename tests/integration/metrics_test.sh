# --metrics (docs/OPERATIONS.md): a TMR server and a managed node serve Prometheus metrics, and
# the values follow real traffic: calls by operation and result with their latency, a refusal,
# an open transaction and odb.log bytes, a running method thread, the node's link going down
# when it is killed, endpoints per gateway, group commits by size, a gateway's sessions, logins,
# downcalls and method fetches. Bad addresses and paths get clear answers.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
MPORT=$(free_port)
GWPORT=$(free_port)
TEST_METHOD_USER=nobody
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
chmod 755 "$WORK"
expect_code "start TMR with metrics" 0 rc oserv start --metrics "127.0.0.2:$MPORT"
expect_contains "logged" "metrics at http://127.0.0.2:$MPORT/metrics" "$(cat "$WORK/db/oserv/oservlog")"
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
install_instance mn1 127.0.0.3 "$PORT" --managed-node --tmr "127.0.0.2:$PORT" --force-bind >/dev/null
expect_code "start mn1 with metrics" 0 rc mn1 start --metrics "127.0.0.3:$MPORT"

scrape() { curl -sf "http://$1:$MPORT/metrics"; }
# value HOST SERIES: the value of one series (its name and labels exactly as exposed), or 0.
value() { scrape "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'; }

step "the exposition: help, type, every operation's series"
M=$(scrape 127.0.0.2) || fail "no metrics at 127.0.0.2:$MPORT"
expect_contains "help" "# HELP openoserv_calls_total" "$M"
expect_contains "type" "# TYPE openoserv_call_duration_seconds histogram" "$M"
expect_contains "a series per operation" 'openoserv_calls_total{operation="lookup",result="ok"}' "$M"
expect_contains "links" 'openoserv_dispatcher_up{od="2",ip="127.0.0.3"} 1' "$M"

step "the process's own series: its descriptors as /proc counts them, its memory, its start"
OSERV_PID=$(pid_of oserv)
fds=$(value 127.0.0.2 process_open_fds)
# The scrape's own connection is open while it is counted; the oserv's other threads may open one.
held=$(find "/proc/$OSERV_PID/fd" -mindepth 1 | wc -l)
[ $((fds - held)) -ge -2 ] && [ $((fds - held)) -le 2 ] || fail "process_open_fds $fds, /proc has $held"
expect_eq "process_max_fds" "$(prlimit --pid "$OSERV_PID" --nofile --raw --noheadings -o SOFT)" \
  "$(value 127.0.0.2 process_max_fds)"
rss=$(value 127.0.0.2 process_resident_memory_bytes)
vmrss=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$OSERV_PID/status")
awk -v a="$rss" -v b="$vmrss" 'BEGIN { exit !(a > 0.8 * b && a < 1.25 * b) }' ||
  fail "process_resident_memory_bytes $rss, VmRSS $vmrss bytes"
started=$(printf '%.0f' "$(value 127.0.0.2 process_start_time_seconds)")
[ $(( $(date +%s) - started )) -ge 0 ] && [ $(( $(date +%s) - started )) -lt 600 ] ||
  fail "process_start_time_seconds $started is not the last few minutes"
expect_contains "cpu counter" "# TYPE process_cpu_seconds_total counter" "$M"

step "calls: counted by operation and result, with their latency"
before=$(value 127.0.0.2 'openoserv_calls_total{operation="lookup",result="ok"}')
for _ in 1 2 3 4 5; do wlookup --id oserv -r ManagedNode 127.0.0.3 >/dev/null || fail "lookup"; done
after=$(value 127.0.0.2 'openoserv_calls_total{operation="lookup",result="ok"}')
expect_eq "five more lookups" $((before + 5)) "$after"
count=$(value 127.0.0.2 'openoserv_call_duration_seconds_count{operation="lookup"}')
[ "${count%.*}" -ge 5 ] || fail "lookup latency count $count"
expect_code "a failed lookup" 1 wlookup --id oserv -r ManagedNode no-such-host
expect_eq "counted as failed" 1 "$(value 127.0.0.2 'openoserv_calls_total{operation="lookup",result="failed"}')"
expect_code "refused" 1 setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$BIN/odb" --id oserv begin
expect_eq "counted as refused" 1 "$(value 127.0.0.2 'openoserv_calls_total{operation="txn_begin",result="refused"}')"

step "state: an open transaction, odb.log, a method thread"
T=$(odb --id oserv begin) || fail "odb begin"
odb --id oserv put "$T" objects metrics-key v >/dev/null || fail "odb put"
expect_eq "one open transaction" 1 "$(value 127.0.0.2 openoserv_transactions_open)"
expect_eq "one lock" 1 "$(value 127.0.0.2 openoserv_locks_held)"
[ "$(value 127.0.0.2 openoserv_odb_log_bytes)" -gt 0 ] || fail "odb.log bytes not counted"
commits=$(value 127.0.0.2 openoserv_commits_total)
odb --id oserv commit "$T" >/dev/null || fail "odb commit"
expect_eq "none open" 0 "$(value 127.0.0.2 openoserv_transactions_open)"
expect_eq "the commit counted" $((commits + 1)) "$(value 127.0.0.2 openoserv_commits_total)"
[ "$(value 127.0.0.2 openoserv_commit_groups_total)" -ge 1 ] || fail "no commit group counted"
expect_eq "every group in the size histogram" "$(value 127.0.0.2 openoserv_commit_groups_total)" \
  "$(value 127.0.0.2 openoserv_commit_group_size_count)"
expect_eq "its +Inf bucket" "$(value 127.0.0.2 openoserv_commit_group_size_count)" \
  "$(value 127.0.0.2 'openoserv_commit_group_size_bucket{le="+Inf"}')"
[ "$(value 127.0.0.2 'openoserv_commit_group_size_bucket{le="1"}')" -ge 1 ] || fail "no group of one"
start_nap mn1 3
wait_until 10 sh -c "curl -sf http://127.0.0.3:$MPORT/metrics | grep -qx 'openoserv_method_threads 1'" ||
  fail "no method thread counted at mn1"

step "endpoints per gateway at the TMR server; the gateway's own sessions and logins"
GWMPORT=$(free_port)
mkdir -p "$WORK/db/mn1/gateway/gw1"
echo "metrics=127.0.0.3:$GWMPORT" >"$WORK/db/mn1/gateway/gw1/gateway.cfg"
expect_code "wcrtgate" 0 wcrtgate --id oserv -n gw1 -p "$GWPORT" 127.0.0.3
expect_eq "a gateway, no endpoint" 0 "$(value 127.0.0.2 'openoserv_endpoints{gateway="gw1"}')"
wait_until 20 grep -q "registered with the Endpoint Manager" "$WORK/db/mn1/gateway/gw1/gateway.log" ||
  fail "gw1 did not register"
lcfd -C "$WORK/ep" -g "127.0.0.3+$GWPORT" -n ep1 -p 0 -D login_interval=1 >/dev/null 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_until 20 sh -c "curl -sf http://127.0.0.2:$MPORT/metrics | grep -qx 'openoserv_endpoints{gateway=\"gw1\"} 1'" ||
  fail "the endpoint is not counted"
GW=$(curl -sf "http://127.0.0.3:$GWMPORT/metrics") || fail "no metrics at the gateway"
expect_contains "one session" "openoserv_gateway_sessions 1" "$GW"
expect_contains "the gateway's own descriptors" "process_open_fds " "$GW"
expect_contains "an initial login" 'openoserv_gateway_logins_total{kind="initial"} 1' "$GW"
expect_contains "none refused" 'openoserv_gateway_logins_total{kind="refused"} 0' "$GW"
gwvalue() { curl -sf "http://127.0.0.3:$GWMPORT/metrics" | awk -v s="$1" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'; }
expect_code "a downcall (built-in)" 0 wep --id oserv ep1 status
printf '#!/bin/sh\necho hi\n' >"$WORK/hi"
chmod 755 "$WORK/hi"
expect_code "install an endpoint method" 0 wclass --id oserv method TMF_Endpoint::Endpoint hi "$WORK/hi"
EP1_OID=$(wep --id oserv ep1 | sed -n 's/^object *//p')
for _ in 1 2; do idlcall --id oserv "$EP1_OID" invoke hi >/dev/null || fail "downcall of hi"; done
expect_eq "three downcalls answered" 3 "$(gwvalue 'openoserv_gateway_downcalls_total{result="ok"}')"
expect_eq "timed" 3 "$(gwvalue openoserv_gateway_downcall_duration_seconds_count)"
expect_eq "the program fetched once" 1 "$(gwvalue 'openoserv_gateway_method_fetches_total{result="ok"}')"
expect_code "a downcall to an endpoint not logged in here" 1 wep --id oserv no-such-ep status
expect_eq "nothing counted for an unknown endpoint" 0 "$(gwvalue 'openoserv_gateway_downcalls_total{result="failed"}')"

step "a node killed: its link shows down"
crash mn1
wait_until 10 sh -c "curl -sf http://127.0.0.2:$MPORT/metrics | grep -qx 'openoserv_dispatcher_up{od=\"2\",ip=\"127.0.0.3\"} 0'" ||
  fail "the killed node still shows up"

step "other paths and methods, a stalled scraper, a bad address"
expect_eq "404 elsewhere" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.2:$MPORT/")"
expect_eq "GET only" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.2:$MPORT/metrics")"
exec 7<>"/dev/tcp/127.0.0.2/$MPORT"  # connects, sends nothing
scrape 127.0.0.2 >/dev/null || fail "a stalled connection held up the next scrape"
exec 7<&-
install_instance spare 127.0.0.4 "$(free_port)" >/dev/null
expect_code "a bad address (oserv.rc: not configured)" 6 rc spare start --metrics "not-an-address:x"
expect_contains "names it" "not-an-address:x" "$OUT"
expect_code "a port in use" 4 "$BIN/oserv" --id spare --foreground --metrics "127.0.0.2:$MPORT"
expect_contains "names it" "cannot listen on 127.0.0.2:$MPORT" "$OUT"
echo "PASS"
