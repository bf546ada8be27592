# The endpoint tier with real processes on loopback: a TMR server (127.0.0.2) and two managed
# nodes (127.0.0.3, .4), each running a gateway started by its oserv; lcfd endpoints logging in,
# downcalls from the TMR server and from a node, the method cache, upcalls across a gateway
# kill, isolated logins to an alternate, a duplicate identity refused, an orphan, a planned stop,
# TLS (the region CA pinned, another CA and plain sessions refused), broadcast discovery,
# malformed frames, a large frame before a login.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
GWPORT=$(free_port)
start_tmr_and_node "$PORT"
install_instance mn2 127.0.0.4 "$PORT" --managed-node --tmr "127.0.0.2:$PORT" --force-bind >/dev/null
expect_code "start mn2" 0 rc mn2 start

step "wcrtgate: a gateway on each node, started by the node's oserv"
expect_code "wcrtgate gw1" 0 wcrtgate --id oserv -n gw1 -p "$GWPORT" 127.0.0.3
expect_contains "created" "Created gateway gw1" "$OUT"
expect_code "wcrtgate gw2 from a node" 0 wcrtgate --id mn1 -n gw2 -p "$GWPORT" 127.0.0.4
expect_code "duplicate label" 1 wcrtgate --id oserv -n gw1 -p "$GWPORT" 127.0.0.4
expect_contains "duplicate named" "gateway gw1 already exists" "$OUT"
for gw in gw1 gw2; do
  wait_until 20 sh -c "grep -q 'registered with the Endpoint Manager' $WORK/db/*/gateway/$gw/gateway.log" ||
    fail "gateway $gw did not register: $(cat "$WORK"/db/*/gateway/$gw/gateway.* 2>&1)"
done
expect_code "wgateway status" 0 wgateway --id oserv gw1 status
expect_contains "running" "gateway gw1: running, pid" "$OUT"
expect_code "odstat at mn1 shows the gateway" 0 odstat --id mn1 -c
expect_contains "gateway thread" "gateway" "$OUT"
expect_code "odstat at the TMR server shows the Endpoint Manager" 0 odstat --id oserv -c
expect_contains "endpoint manager thread" "endpoint_manager" "$OUT"
expect_code "resident methods are not stuck methods" 0 odadmin --id mn1 health 0

step "an initial login: the endpoint is assigned to the gateway it reached"
EP1=$WORK/lcf/1
METHODS=$WORK/methods
mkdir -p "$METHODS"
SPORT1=$(free_port)
start_lcfd "$EP1" -g "127.0.0.3+$GWPORT" -n ep1 -p "$SPORT1"
LCFD1=$LAST_LCFD
wait_until 20 logged_in "$EP1" || fail "ep1 did not log in: $(cat "$EP1/lcfd.log")"
expect_code "wep ls" 0 wep --id oserv ls
expect_contains "gw1 listed" "gw1" "$OUT"
expect_contains "ep1 under gw1" "ep1" "$OUT"
expect_code "wep ep1" 0 wep --id oserv ep1
expect_contains "assigned gw1" "gateway_label        gw1" "$OUT"
expect_contains "initial" "login_kind           initial" "$OUT"
expect_code "wgateway gw1 sessions" 0 wgateway --id mn2 gw1 sessions
expect_contains "gw1 holds ep1's session" "ep1" "$OUT"
expect_contains "its kind" "initial" "$OUT"
expect_code "wgateway gw2 sessions" 0 wgateway --id oserv gw2 sessions
expect_eq "gw2 holds none" "" "$OUT"
expect_code "sessions of no gateway" 1 wgateway --id oserv gw9 sessions
expect_contains "named" "no gateway gw9" "$OUT"
expect_eq "lcf.dat mode" 600 "$(stat -c %a "$EP1/lcf.dat")"
expect_contains "lcf.dat names gw1" "gateway=127.0.0.3+$GWPORT" "$(cat "$EP1/lcf.dat")"
expect_contains "lcf.dat alternates" "alternates=127.0.0.4+$GWPORT" "$(cat "$EP1/lcf.dat")"

step "status page on the lcfd port"
page=$(bash -c "exec 3<>/dev/tcp/127.0.0.1/$SPORT1; printf 'GET / HTTP/1.0\r\n\r\n' >&3; cat <&3")
expect_contains "status page" "logged in to gateway 127.0.0.3+$GWPORT" "$page"

step "downcalls: built-in ping, and an installed method from the TMR server and from a node"
expect_code "wep status" 0 wep --id oserv ep1 status
expect_contains "alive" "ep1 is alive." "$OUT"
cat >"$METHODS/hello" <<'SH'
#!/bin/sh
echo "hello from $LCF_ENDPOINT: $3"
exit 4
SH
chmod 755 "$METHODS/hello"
expect_code "install endpoint method" 0 wclass --id oserv method TMF_Endpoint::Endpoint hello "$METHODS/hello"
EP1_OID=$(wep --id oserv ep1 | sed -n 's/^object *//p')
expect_code "downcall from the TMR server" 4 idlcall --id oserv "$EP1_OID" invoke hello café
expect_contains "output" "hello from ep1: café" "$OUT"
expect_eq "one program fetched by the gateway" 1 "$(grep -c 'fetched from the Endpoint Manager' "$WORK/db/mn1/gateway/gw1/gateway.log")"
expect_code "downcall from a node" 4 idlcall --id mn2 "$EP1_OID" invoke hello again
expect_contains "output from node" "hello from ep1: again" "$OUT"
expect_eq "cached: one download" 1 "$(grep -c 'downloaded' "$EP1/lcfd.log")"
expect_eq "cached at the gateway: one fetch" 1 "$(grep -c 'fetched from the Endpoint Manager' "$WORK/db/mn1/gateway/gw1/gateway.log")"
step "a reinstalled method replaces the cached copy"
printf '#!/bin/sh\necho "v2 $3"\n' >"$METHODS/hello2"
chmod 755 "$METHODS/hello2"
expect_code "reinstall" 0 wclass --id oserv method TMF_Endpoint::Endpoint hello "$METHODS/hello2"
expect_code "downcall v2" 0 idlcall --id oserv "$EP1_OID" invoke hello x
expect_contains "new program ran" "v2 x" "$OUT"
expect_eq "downloaded again" 2 "$(grep -c 'downloaded' "$EP1/lcfd.log")"

step "a second lcfd with ep1's identity is refused and named"
EP1B=$WORK/lcf/1b
mkdir -p "$EP1B" && cp "$EP1/lcf.dat" "$EP1B/"
start_lcfd "$EP1B" -p 0
wait_until 20 grep -q "already logged in from" "$EP1B/lcfd.log" ||
  fail "the duplicate was not refused: $(cat "$EP1B/lcfd.log")"
kill "$LAST_LCFD"

step "upcalls: spooled, sent, recorded once"
cat >"$METHODS/report" <<SH
#!/bin/sh
echo "\$3 \$5" >>"$WORK/upcalls"
SH
chmod 755 "$METHODS/report"
expect_code "install upcall method" 0 wclass --id oserv method TMF_LCF::EndpointManager report "$METHODS/report"
for n in 1 2 3; do lcfd -C "$EP1" --upcall report "u$n" >/dev/null || fail "spool upcall"; done
wait_until 20 sh -c "[ \$(wc -l <'$WORK/upcalls' 2>/dev/null || echo 0) -ge 3 ]" ||
  fail "upcalls did not arrive: $(cat "$EP1/lcfd.log")"
expect_eq "upcalls in order, once" "ep1 u1
ep1 u2
ep1 u3" "$(cat "$WORK/upcalls")"

step "gateway killed: the endpoint logs in to its alternate (isolated), migrating once"
GW1_PID=$(pgrep -f "oserv-gateway --label gw1 .*$WORK/")
for n in 4 5; do lcfd -C "$EP1" --upcall report "u$n" >/dev/null; done
T0=$(date +%s%N)
kill -KILL "$GW1_PID"
wait_until 30 grep -q "isolated login to gateway 127.0.0.4+$GWPORT accepted" "$EP1/lcfd.log" ||
  fail "no isolated login: $(tail -20 "$EP1/lcfd.log")"
# Issue 15's target is under 2 s (the loss is seen at once, the alternate after a jitter of at
# most udp_interval/5); printed for docs/PERFORMANCE.md, not asserted: a loaded CI machine is slow.
echo "gateway killed: ep1 logged in elsewhere $(( ($(date +%s%N) - T0) / 1000000 )) ms later (polled every 100 ms)"
expect_code "wep ep1 after" 0 wep --id oserv ep1
expect_contains "now on gw2" "gateway_label        gw2" "$OUT"
expect_contains "one migration" "migrations           1" "$OUT"
wait_until 20 sh -c "[ \$(wc -l <'$WORK/upcalls') -ge 5 ]" || fail "upcalls after the kill did not arrive"
sleep 1
expect_eq "no upcall lost or doubled" "ep1 u1
ep1 u2
ep1 u3
ep1 u4
ep1 u5" "$(cat "$WORK/upcalls")"
expect_code "downcall through gw2" 0 wep --id oserv ep1 status
wait_until 20 sh -c "wgateway --id oserv gw1 status | grep -q running" || fail "gw1 was not restarted by its oserv"

step "wep migrate: the live endpoint is redirected at once"
expect_code "migrate back" 0 wep --id oserv ep1 migrate gw1
wait_until 20 sh -c "grep -c 'login to gateway 127.0.0.3+$GWPORT accepted' '$EP1/lcfd.log' | grep -q 2" ||
  fail "ep1 did not follow the migration: $(tail -20 "$EP1/lcfd.log")"

step "planned stop: endpoints are sent to the other gateway"
expect_code "wgateway stop" 0 wgateway --id oserv gw1 stop
wait_until 20 grep -q "redirected by the gateway: gateway gw1 is stopping" "$EP1/lcfd.log" ||
  fail "no redirect: $(tail "$EP1/lcfd.log")"
wait_until 20 sh -c "wep --id oserv ep1 | grep -q 'gateway_label        gw2'" || fail "ep1 not on gw2"
expect_code "stopped stays stopped" 0 wgateway --id oserv gw1 status
expect_contains "stopped" "stopped" "$OUT"
expect_code "wgateway start" 0 wgateway --id oserv gw1 start

step "an orphan: the endpoint deleted at the manager logs in as new"
# Stopped first: a running lcfd would see the deletion itself and re-login (racing this test's
# restart of it).
kill "$LCFD1"; wait "$LCFD1" 2>/dev/null
expect_code "wdelep" 0 wdelep --id oserv ep1
start_lcfd "$EP1" -p 0
LCFD1=$LAST_LCFD
wait_until 30 sh -c "ls '$EP1'/lcf.dat.orphan-* >/dev/null 2>&1 && grep -q 'initial login to gateway .* accepted' '$EP1/lcfd.log'" ||
  fail "no orphan re-login: $(tail -20 "$EP1/lcfd.log")"
expect_code "ep1 exists again" 0 wep --id oserv ep1
expect_contains "a new object" "login_kind           initial" "$OUT"

step "wep set interfaces: recorded, and a live endpoint keeps them in lcf.dat"
LIST="127.0.0.4+$GWPORT:127.0.0.3+$GWPORT"
expect_code "set for ep1" 0 wep --id oserv set interfaces -e ep1 "$LIST"
expect_contains "told" "ep1: login interfaces $LIST: the endpoint has them." "$OUT"
expect_contains "lcf.dat" "login_interfaces=$LIST" "$(cat "$EP1/lcf.dat")"
expect_code "wep ep1" 0 wep --id mn1 ep1
expect_contains "recorded" "login_interfaces     $LIST" "$OUT"
expect_code "set for gw2's endpoints, from a node" 0 wep --id mn2 set interfaces -g gw2 "127.0.0.4+$GWPORT"
expect_code "a bad list" 1 wep --id oserv set interfaces -e ep1 "gw1::gw2"
expect_contains "named" "is not a list of login interfaces" "$OUT"
expect_code "both -e and -g" 2 wep --id oserv set interfaces -e ep1 -g gw1 "$LIST"

step "TLS: lcf.dat pins the region CA; other CAs and plain sessions are refused"
CA_FP=$(openssl x509 -in "$WORK/db/oserv/ssl/ca.pem" -outform DER | sha256sum | cut -d' ' -f1)
expect_contains "lcf.dat pins the region CA" "region_ca=$CA_FP" "$(cat "$EP1/lcf.dat")"
expect_contains "first use logged" "trusting region CA $CA_FP on first use" "$(cat "$EP1/lcfd.log")"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=other \
  -keyout "$WORK/other.key" -out "$WORK/other-ca.pem" 2>/dev/null
EPX=$WORK/lcf/x
expect_code "winstlcf --ca another region's CA" 0 winstlcf -e "$WORK/tivoli-x" -C "$EPX" \
  -g "127.0.0.4+$GWPORT" -n epx -p 0 -D login_interval=1 -D udp_interval=1 --ca "$WORK/other-ca.pem" -N
start_lcfd "$EPX" -p 0
wait_until 20 grep -q "is not the one this endpoint trusts" "$EPX/lcfd.log" ||
  fail "a gateway of another CA was not refused: $(cat "$EPX/lcfd.log")"
kill "$LAST_LCFD"; wait "$LAST_LCFD" 2>/dev/null
[ ! -e "$EPX/lcf.dat" ] || fail "an endpoint logged in to a gateway it does not trust"
expect_code "winstlcf --ca garbage" 2 winstlcf -e "$WORK/tivoli-x" -C "$EPX" --ca /etc/hostname -N
start_lcfd "$WORK/lcf/plain" -g "127.0.0.4+$GWPORT" -n plain -p 0 -D lcs.tls=off
wait_until 10 grep -q "refused: a plain (unencrypted) session" "$WORK/db/mn2/gateway/gw2/gateway.log" ||
  fail "the gateway did not refuse a plain session"
kill "$LAST_LCFD"; wait "$LAST_LCFD" 2>/dev/null
[ ! -e "$WORK/lcf/plain/lcf.dat" ] || fail "a plain session logged in"

step "broadcast discovery: an endpoint given no gateway finds one"
EPB=$WORK/lcf/b
start_lcfd "$EPB" -n epb -p 0 -P "$GWPORT" -D lcs.broadcast_address=127.255.255.255 \
  -D local_ip_interface=127.0.0.9
wait_until 20 logged_in "$EPB" || fail "no login by broadcast: $(cat "$EPB/lcfd.log")"
expect_contains "a gateway answered" "answered the broadcast" "$(cat "$EPB/lcfd.log")"
expect_code "epb known" 0 wep --id oserv epb
expect_contains "initial login" "login_kind           initial" "$OUT"
expect_contains "from its local_ip_interface" "address              127.0.0.9" "$OUT"
kill "$LAST_LCFD"; wait "$LAST_LCFD" 2>/dev/null
start_lcfd "$WORK/lcf/nb" -n nb -p 0 -D bcast_disable=1
wait_until 10 grep -q "no gateway to log in to" "$WORK/lcf/nb/lcfd.log" || fail "bcast_disable ignored"
kill "$LAST_LCFD"; wait "$LAST_LCFD" 2>/dev/null

step "malformed frames: the gateway closes that session, names the fault, serves the rest"
bash -c "exec 3<>/dev/tcp/127.0.0.4/$GWPORT; printf 'XXgarbage-not-a-frame' >&3; sleep 0.3" 2>/dev/null
(printf 'XXgarbage-not-a-frame'; sleep 1) |
  timeout 10 openssl s_client -quiet -connect "127.0.0.4:$GWPORT" >/dev/null 2>&1
wait_until 10 grep -q "protocol error" "$WORK/db/mn2/gateway/gw2/gateway.log" ||
  fail "the gateway did not report the bad frame: $(tail "$WORK/db/mn2/gateway/gw2/gateway.log")"
wait_until 20 wep --id oserv ep1 status || fail "ep1 does not answer after the bad frame"
# Before its login a session may send 64 KB frames at most: a 1 MB Login is refused at its header.
(printf 'LC\001\001\000\020\000\000\000\000\000\000'; sleep 1) |
  timeout 10 openssl s_client -quiet -connect "127.0.0.4:$GWPORT" >/dev/null 2>&1
wait_until 10 grep -q "a Login frame announces 1048576 bytes, over the limit of 65536" \
  "$WORK/db/mn2/gateway/gw2/gateway.log" ||
  fail "a 1 MB frame before the login: $(tail -n 3 "$WORK/db/mn2/gateway/gw2/gateway.log")"

step "a truncated lcf.dat: lcfd says so and logs in from lcf.dat.bak"
kill "$LCFD1"; wait "$LCFD1" 2>/dev/null
head -c 40 "$EP1/lcf.dat" >"$EP1/lcf.dat.tmp" && mv "$EP1/lcf.dat.tmp" "$EP1/lcf.dat"
: >"$EP1/lcfd.log"
start_lcfd "$EP1" -p 0
wait_until 20 logged_in "$EP1" || fail "no login after a truncated lcf.dat: $(cat "$EP1/lcfd.log")"
expect_contains "damage named" "lcf.dat" "$(grep -i 'trying .*lcf.dat.bak' "$EP1/lcfd.log")"
expect_contains "same endpoint" "normal login" "$(cat "$EP1/lcfd.log")"
kill "$LAST_LCFD"

step "policies: allow_install refuses, select_gateway chooses, after_install and login run after"
cat >"$METHODS/allow" <<'SH'
#!/bin/sh
case $3 in denied*) echo "no endpoints named $3 here"; exit 1 ;; esac
SH
cat >"$METHODS/select" <<'SH'
#!/bin/sh
echo "no-such-gateway"
echo "gw2"
SH
cat >"$METHODS/after" <<SH
#!/bin/sh
echo "\$2 \$3 \$6 \$8" >>"$WORK/policies"
SH
chmod 755 "$METHODS/allow" "$METHODS/select" "$METHODS/after"
expect_code "wputeppol allow" 0 wputeppol --id oserv allow_install_policy "$METHODS/allow"
expect_code "wputeppol select from a node" 0 wputeppol --id mn1 select_gateway_policy "$METHODS/select"
expect_code "wputeppol after" 0 wputeppol --id oserv after_install_policy "$METHODS/after"
expect_code "wputeppol login" 0 wputeppol --id oserv login_policy "$METHODS/after"
expect_code "not a policy" 2 wputeppol --id oserv lunch_policy "$METHODS/after"
expect_code "wgeteppol" 0 wgeteppol --id oserv
expect_contains "listed" "select_gateway_policy  $METHODS/select" "$OUT"
start_lcfd "$WORK/lcf/d" -g "127.0.0.3+$GWPORT" -n denied1 -p 0
wait_until 20 grep -q "allow_install_policy refused endpoint denied1 (exit code 1): no endpoints named denied1 here" "$WORK/lcf/d/lcfd.log" ||
  fail "allow_install_policy did not refuse: $(cat "$WORK/lcf/d/lcfd.log")"
kill "$LAST_LCFD"; wait "$LAST_LCFD" 2>/dev/null
expect_code "no such endpoint" 1 wep --id oserv denied1
start_lcfd "$WORK/lcf/s" -g "127.0.0.3+$GWPORT" -n chosen -p 0
wait_until 20 grep -q "normal login to gateway 127.0.0.4+$GWPORT accepted\|isolated login to gateway 127.0.0.4+$GWPORT accepted" "$WORK/lcf/s/lcfd.log" ||
  fail "the endpoint did not go to the gateway the policy chose: $(cat "$WORK/lcf/s/lcfd.log")"
expect_code "wep chosen" 0 wep --id oserv chosen
expect_contains "on gw2" "gateway_label        gw2" "$OUT"
expect_contains "no migration" "migrations           0" "$OUT"
wait_until 20 grep -q "after_install_policy chosen gw1 initial" "$WORK/policies" ||
  fail "after_install_policy did not run: $(cat "$WORK/policies" 2>&1)"
wait_until 20 grep -q "login_policy chosen gw1 initial" "$WORK/policies" || fail "login_policy did not run"
kill "$LAST_LCFD"; wait "$LAST_LCFD" 2>/dev/null
start_lcfd "$WORK/lcf/s" -p 0
wait_until 20 grep -q "login_policy chosen gw2 normal" "$WORK/policies" ||
  fail "no login_policy after a normal login: $(cat "$WORK/policies")"
expect_code "wep chosen" 0 wep --id oserv chosen
expect_contains "normal login recorded" "login_kind           normal" "$OUT"
kill "$LAST_LCFD"; wait "$LAST_LCFD" 2>/dev/null
for p in allow_install_policy select_gateway_policy after_install_policy login_policy; do
  printf '#!/bin/sh\nexit 0\n' >"$METHODS/none" && chmod 755 "$METHODS/none"
  wputeppol --id oserv "$p" "$METHODS/none" >/dev/null || fail "reset $p"
done

step "winstlcf: two endpoints on one host; a reinstall keeps its number; lcfd.sh (LSB codes)"
ETC=$WORK/tivoli
expect_code "winstlcf ep2" 0 winstlcf -e "$ETC" -C "$WORK/ep2" -g "127.0.0.4+$GWPORT" -n ep2 -p 0 -D login_interval=1
expect_contains "number 1" "endpoint 1 installed in $WORK/ep2" "$OUT"
expect_code "winstlcf ep3" 0 winstlcf -e "$ETC" -C "$WORK/ep3" -g "127.0.0.4+$GWPORT" -n ep3 -p 0 -D login_interval=1
expect_contains "number 2" "endpoint 2 installed" "$OUT"
wait_until 20 logged_in "$WORK/ep2" || fail "ep2 did not log in: $(cat "$WORK/ep2/lcfd.log")"
wait_until 20 logged_in "$WORK/ep3" || fail "ep3 did not log in"
expect_code "lcfd.sh status" 0 "$ETC/lcf/1/lcfd.sh" status
expect_code "lcfd.sh stop" 0 "$ETC/lcf/1/lcfd.sh" stop
expect_code "lcfd.sh status stopped" 3 "$ETC/lcf/1/lcfd.sh" status
expect_code "reinstall ep2" 0 winstlcf -e "$ETC" -C "$WORK/ep2" -N
expect_contains "kept number 1" "endpoint 1 installed in $WORK/ep2" "$OUT"
expect_code "bad setting refused" 2 winstlcf -e "$ETC" -C "$WORK/ep9" -D udp_interval=never -N
expect_code "lcfd.sh start" 0 "$ETC/lcf/1/lcfd.sh" start
expect_code "same identity after reinstall" 0 wep --id oserv ep2 status
"$ETC/lcf/1/lcfd.sh" stop; "$ETC/lcf/2/lcfd.sh" stop
echo "endpoint tier ok"
