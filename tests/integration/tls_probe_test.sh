# The region CA's certificates on omniORB's SSL transport (tests/tools/tls_probe.cc), the ground
# of TLS between dispatchers: a caller with a certificate of the region is served and known by
# its certificate's name; one of another region, an expired one, and plain IIOP to the TLS port
# are refused.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PROBE=$BIN/tls_probe
PORT=$(free_port)
expect_code "region CA" 0 "$PROBE" ca "$WORK/ca" 1669180253
expect_code "another region's CA" 0 "$PROBE" ca "$WORK/other" 2000000000
expect_code "dispatcher 1" 0 "$PROBE" issue "$WORK/ca" "$WORK/d1" 1669180253 1 24
expect_code "dispatcher 2" 0 "$PROBE" issue "$WORK/ca" "$WORK/d2" 1669180253 2 24
expect_code "a look-alike of dispatcher 2" 0 "$PROBE" issue "$WORK/other" "$WORK/fake" 1669180253 2 24
expect_code "an expired dispatcher 3" 0 "$PROBE" issue "$WORK/ca" "$WORK/old" 1669180253 3 -2
"$PROBE" serve "$WORK/d1" "$PORT" >"$WORK/serve.out" 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_until 10 grep -q ready "$WORK/serve.out" || fail "the TLS server did not start: $(cat "$WORK/serve.out")"
URL="corbaloc:ssliop:127.0.0.1:$PORT/Probe"

step "a dispatcher of the region is served and known by its certificate"
expect_code "call as dispatcher 2" 0 "$PROBE" call "$WORK/d2" "$URL"
expect_eq "the server saw" "od2.region1669180253" "$OUT"

step "another region's certificate, an expired one, plain IIOP: refused"
expect_code "call with another region's certificate" 1 "$PROBE" call "$WORK/fake" "$URL"
expect_code "call with an expired certificate" 1 "$PROBE" call "$WORK/old" "$URL"
expect_code "plain IIOP to the TLS port" 1 "$PROBE" call - "corbaloc::127.0.0.1:$PORT/Probe"
expect_code "still serving" 0 "$PROBE" call "$WORK/d2" "$URL"
echo PASS
