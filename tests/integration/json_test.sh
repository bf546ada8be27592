# --json (docs/JSON.md) against a live region: each state-printing command prints one JSON
# document of its schema, and its values follow the region: a node killed shows as not
# connected, a running method shows in odstat, an open transaction and its lock in tmstat, an
# endpoint logged in under its gateway in wep ls. Checked with jq.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
GWPORT=$(free_port)
start_tmr_and_node "$PORT"

# jq_true WHAT FILTER JSON: the filter (jq -e) holds for the document.
jq_true() { jq -e "$2" >/dev/null <<<"$3" || fail "$1: $2 does not hold for: $3"; }

step "odadmin: the status block and the odlist"
expect_code "status" 0 odadmin --id oserv --json
jq_true "status" '.schema == "openoserv.status/1" and .dispatcher == 1 and .port == '"$PORT"' and
  (.pid | type) == "number" and .force_bind.setting == true and (.replication | type) == "array" and
  (.you_are | startswith("root"))' "$OUT"
expect_code "odlist" 0 odadmin --id oserv --json odlist
jq_true "odlist" '.schema == "openoserv.odlist/1" and (.dispatchers | length) == 2 and
  (.dispatchers[] | select(.od == 2) | .ip == "127.0.0.3" and .connected == true and .port == '"$PORT"')' "$OUT"
expect_code "not with an edit" 2 odadmin --id oserv --json set_force_bind TRUE 2
crash mn1
expect_code "odlist, mn1 killed" 0 odadmin --id oserv --json odlist
jq_true "the killed node" '.dispatchers[] | select(.od == 2) | .connected == false' "$OUT"
expect_code "offline odlist" 0 odadmin --id mn1 --offline --json odlist
jq_true "offline" '.schema == "openoserv.odlist/1" and (.dispatchers | length) == 2' "$OUT"
expect_code "restart mn1" 0 rc mn1 start

step "odstat: a running method thread"
expect_code "odstat idle" 0 odstat --id mn1 -c --json
jq_true "no threads" '.schema == "openoserv.odstat/1" and .threads == []' "$OUT"
start_nap mn1 4
running() { odstat --id mn1 -c --json | jq -e --arg oid "$NAPPER" '.threads[] | select(.oid == $oid and .method == "nap" and .state == "run" and .pid > 0)'; }
wait_until 10 running || fail "odstat --json does not show nap: $(odstat --id mn1 -c --json)"

step "tmstat: an open transaction and its lock"
T=$(odb --id oserv begin --label json-test) || fail "odb begin"
odb --id oserv put "$T" objects json-key v >/dev/null || fail "odb put"
expect_code "tmstat" 0 tmstat --id oserv --json
jq_true "tmstat" '.schema == "openoserv.tmstat/1" and
  any(.transactions[]; .kind == "Top-T" and .changes == 1) and
  any(.locks[]; .resource == "objects/json-key" and .mode == "write" and (.holders | length) == 1) and
  .odb_log.record_bytes > 0' "$OUT"
odb --id oserv abort "$T" >/dev/null || fail "odb abort"
idle() { tmstat --id oserv --json | jq -e '.transactions == [] and .locks == [] and .odb_log.record_bytes == 0'; }
wait_until 10 idle || fail "tmstat --json after the abort: $(tmstat --id oserv --json)"

step "wlookup: a name, and every name of a resource"
expect_code "lookup" 0 wlookup --id oserv -r ManagedNode 127.0.0.3 --json --url
jq_true "lookup" '.schema == "openoserv.lookup/1" and (.oid | test("^[0-9]+\\.2\\.")) and (.url | startswith("corbaloc:"))' "$OUT"
expect_code "names" 0 wlookup --id oserv -r ManagedNode -a --json
jq_true "names" '.schema == "openoserv.names/1" and (.names | length) == 2' "$OUT"

step "wep ls, wep ENDPOINT, wgateway: a gateway and its endpoint"
expect_code "wcrtgate" 0 wcrtgate --id oserv -n gw1 -p "$GWPORT" 127.0.0.3
wait_until 20 grep -q "registered with the Endpoint Manager" "$WORK/db/mn1/gateway/gw1/gateway.log" ||
  fail "gw1 did not register"
lcfd -C "$WORK/ep" -g "127.0.0.3+$GWPORT" -n ep1 -p 0 -D login_interval=1 >/dev/null 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_until 20 grep -q "accepted" "$WORK/ep/lcfd.log" || fail "ep1 did not log in"
expect_code "wep ls" 0 wep --id oserv ls --json
jq_true "wep ls" '.schema == "openoserv.endpoints/1" and
  (.gateways[] | select(.label == "gw1") | .od == 2 and .port == '"$GWPORT"' and
   any(.endpoints[]; .label == "ep1" and .login_kind == "initial" and .last_login > 0))' "$OUT"
expect_code "wep ep1" 0 wep --id oserv ep1 --json
jq_true "wep ep1" '.schema == "openoserv.endpoint/1" and .label == "ep1" and .gateway == "gw1"' "$OUT"
expect_code "wgateway" 0 wgateway --id oserv --json
jq_true "gateways" '.schema == "openoserv.gateways/1" and .gateways[0].label == "gw1"' "$OUT"
expect_code "sessions" 0 wgateway --id oserv gw1 sessions --json
jq_true "sessions" '.schema == "openoserv.sessions/1" and any(.sessions[]; .label == "ep1")' "$OUT"
expect_code "not with migrate" 2 wep --id oserv ep1 migrate gw1 --json
echo "PASS"
