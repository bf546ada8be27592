# --console (docs/OPERATIONS.md): the TMR server's read-only web console against a live region
# of a TMR server, a managed node, a gateway and an endpoint.
# - Who may look, over HTTPS with curl: no certificate, a user (who sees no log), a super
#   administrator, a revoked certificate, another CA's, and anything but GET and HEAD.
# - In a real browser (Debian's headless Chromium), trusting the region's CA and showing an
#   administrator's certificate: the pages as rendered, and a screenshot, read back by OCR
#   (tesseract) and by colour (the picture's "up" green and "down" red); then the managed node
#   is killed, and both show it down.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
CPORT=$(free_port)
GWPORT=$(free_port)
URL="https://127.0.0.2:$CPORT"
install_instance oserv 127.0.0.2 "$PORT" --force-bind >/dev/null
chmod 755 "$WORK"
SSL=$WORK/db/oserv/ssl

step "a bad console address is refused at the start"
expect_code "not an address" 6 rc oserv start --console "nowhere:$CPORT"
expect_contains "names it" "--console nowhere:$CPORT" "$OUT"

expect_code "start TMR with the console" 0 rc oserv start --console "127.0.0.2:$CPORT"
expect_contains "logged" "console at $URL/" "$(cat "$WORK/db/oserv/oservlog")"
OSERV_JOIN_TOKEN=$(join_token oserv) && export OSERV_JOIN_TOKEN
install_instance mn1 127.0.0.3 "$PORT" --managed-node --tmr "127.0.0.2:$PORT" --force-bind >/dev/null
expect_code "start mn1" 0 rc mn1 start
expect_code "wcrtgate" 0 wcrtgate --id oserv -n gw1 -p "$GWPORT" 127.0.0.3
wait_until 20 grep -q "registered with the Endpoint Manager" "$WORK/db/mn1/gateway/gw1/gateway.log" ||
  fail "gw1 did not register"
lcfd -C "$WORK/ep" -g "127.0.0.3+$GWPORT" -n ep1 -p 0 -D login_interval=1 >/dev/null 2>&1 &
BG_PIDS="$BG_PIDS $!"
wait_until 20 sh -c "wgateway --id oserv gw1 sessions | grep -q ep1" || fail "ep1 did not log in"

expect_code "wcrtadmin Alice (user)" 0 wcrtadmin --id oserv -r user Alice
expect_code "Alice's certificate" 0 odadmin --id oserv issue_cert Alice "$WORK/alice.pem" 30
expect_code "wcrtadmin Root (super)" 0 wcrtadmin --id oserv -r super Root
expect_code "Root's certificate" 0 odadmin --id oserv issue_cert Root "$WORK/root.pem" 30
# get AS PATH [CURL OPTIONS]: the page's body; its status in $CODE.
get() {
  who=$1 path=$2; shift 2
  cert=""
  [ "$who" = none ] || cert="--cert $WORK/$who.pem"
  # shellcheck disable=SC2086
  BODY=$(curl -s --cacert "$SSL/ca.pem" $cert -w '\n%{http_code}' "$@" "$URL$path")
  CODE=${BODY##*
}
  BODY=${BODY%
*}
}

step "who may look"
get none /
expect_eq "no certificate: refused" 403 "$CODE"
expect_contains "what to do" "administrator&#39;s client certificate of region" "$BODY"
wait_until 5 grep -q "refused console GET / by anonymous TLS client" "$WORK/db/oserv/audit.log" ||
  fail "no audit line for the refusal"
get alice /
expect_eq "Alice sees the region" 200 "$CODE"
expect_contains "the picture" "<svg" "$BODY"
expect_contains "dispatcher 2" "od 2 · 127.0.0.3" "$BODY"
expect_contains "the gateway" "gateway gw1" "$BODY"
expect_contains "its endpoint drawn, logged in" 'r="7" fill="#2e7d32"/><text' "$BODY"
expect_contains "and named" ">ep1</text>" "$BODY"
expect_contains "Alice named" "you are Alice" "$BODY"
get alice /od/2
expect_eq "Alice sees dispatcher 2" 200 "$CODE"
expect_contains "its status block" "Instance ID</td><td>mn1" "$BODY"
expect_contains "its method threads" "gateway" "$BODY"
expect_contains "but not its log" "Not shown: log_tail needs the admin role" "$BODY"
get root /od/2
expect_contains "Root sees the log" "ready" "$BODY"
expect_code "odadmin log, as root" 0 odadmin --id mn1 log 3
expect_eq "three lines" 3 "$(echo "$OUT" | wc -l)"
expect_code "odadmin log, as Alice" 1 odadmin --host "127.0.0.2:$PORT" --cert "$WORK/alice.pem" log
expect_contains "refused" "permission denied by the oserv at 127.0.0.2:$PORT: you are Alice" "$OUT"
get alice /endpoints
expect_contains "the endpoint" "ep1" "$BODY"
expect_contains "logged in" "logged in</span>" "$BODY"
get alice /od/9
expect_eq "no dispatcher 9" 404 "$CODE"
get alice /nothing
expect_eq "no such page" 404 "$CODE"
get alice / -X POST
expect_eq "read-only" 405 "$CODE"
expect_code "revoke Alice's certificate" 0 odadmin --id oserv revoke_cert Alice \
  "$(openssl x509 -in "$WORK/alice.pem" -noout -serial | cut -d= -f2)"
wait_until 10 sh -c "curl -s --cacert $SSL/ca.pem --cert $WORK/alice.pem -o /dev/null -w '%{http_code}' $URL/ | grep -qx 403" ||
  fail "a revoked certificate still sees the console"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/other.key" \
  -out "$WORK/other.crt" -subj "/CN=Root.region1/OU=administrator" -days 2 2>/dev/null
cat "$WORK/other.crt" "$WORK/other.key" >"$WORK/other.pem"
get other /
expect_eq "another CA's certificate: no handshake" 000 "$CODE"

step "in a browser: headless Chromium, trusting the region's CA, showing Root's certificate"
if [ "$(id -u)" != 0 ]; then
  echo "skipped: Chromium takes its certificate choice from a policy in /etc/chromium (root)"
  exit 0
fi
export HOME=$WORK/home
NSSDB=sql:$HOME/.pki/nssdb
mkdir -p "$HOME/.pki/nssdb"
certutil -N -d "$NSSDB" --empty-password || fail "certutil -N"
certutil -A -d "$NSSDB" -n "openoserv region CA" -t "CT,," -i "$SSL/ca.pem" || fail "certutil -A"
openssl pkcs12 -export -in "$WORK/root.pem" -out "$WORK/root.p12" -passout pass: || fail "pkcs12"
pk12util -i "$WORK/root.p12" -d "$NSSDB" -W "" >/dev/null || fail "pk12util"
POLICY=/etc/chromium/policies/managed/openoserv-console-test-$$.json
mkdir -p "$(dirname "$POLICY")"
printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\": \\"%s\\", \\"filter\\": {}}"]}\n' \
  "$URL" >"$POLICY"
remove_policy() { rm -f "$POLICY"; }
CLEANUP_HOOKS="$CLEANUP_HOOKS remove_policy"
# browse WHAT PAGE: the page as Chromium rendered it (its DOM) in $DOM, a screenshot in $WORK/WHAT.png.
browse() {
  flags="--headless --no-sandbox --disable-gpu --user-data-dir=$WORK/chromium --window-size=1000,900"
  # shellcheck disable=SC2086
  DOM=$(timeout 60 chromium $flags --dump-dom "$URL$2" 2>>"$WORK/chromium.log") ||
    fail "chromium could not load $URL$2: $(tail -5 "$WORK/chromium.log")"
  # shellcheck disable=SC2086
  (cd "$WORK" && timeout 60 chromium $flags --screenshot="$WORK/$1.png" "$URL$2" 2>>"$WORK/chromium.log") ||
    fail "no screenshot of $URL$2"
}
# text FILE: what OCR reads in a screenshot (what a person would see).
text() { tesseract "$1" - 2>/dev/null; }
# pixels FILE: how many pixels of the picture's "up" and "down" colours the screenshot has.
pixels() {
  /usr/bin/python3 - "$1" <<'PY'
import sys
from PIL import Image
image = Image.open(sys.argv[1]).convert("RGB")
counts = {(0x2e, 0x7d, 0x32): 0, (0xc6, 0x28, 0x28): 0}
for colour in image.getdata():
    if colour in counts:
        counts[colour] += 1
print(counts[(0x2e, 0x7d, 0x32)], counts[(0xc6, 0x28, 0x28)])
PY
}
# look WHAT PAGE: browse, then what the screenshot shows: $SEEN (OCR), $GREEN and $RED pixels.
look() {
  browse "$1" "$2"
  read -r GREEN RED <<EOF2
$(pixels "$WORK/$1.png")
EOF2
  SEEN=$(text "$WORK/$1.png")
  echo "screenshot $1: $GREEN pixels of up, $RED of down"
}
look up /
expect_contains "the region" "openoserv region" "$DOM"
expect_contains "Root is named" "you are Root" "$DOM"
expect_contains "gateway gw1 in the picture" "gateway gw1" "$DOM"
[ "$GREEN" -gt 20000 ] || fail "the picture shows nothing up ($GREEN pixels)"
expect_eq "nothing down" 0 "$RED"
expect_contains "the screenshot shows the region" "openoserv region" "$SEEN"
# The dispatchers table's row of dispatcher 2 (digits only loosely: OCR may read 0 as O).
echo "$SEEN" | grep -Eq "^2 127\.0\.0\.3 .* up\$" ||
  fail "the screenshot does not show dispatcher 2 up: $SEEN"

step "mn1 killed: the browser shows it down"
crash mn1
look down /
expect_contains "dispatcher 2 down" "<span class=\"down\">down</span> <span class=\"why\">dispatcher 2 (127.0.0.3" "$DOM"
[ "$RED" -gt 5000 ] || fail "the picture shows nothing down ($RED pixels)"
echo "$SEEN" | grep -Eq "^2 127\.0\.0\.3 .* down dispatcher 2 " ||
  fail "the screenshot does not show dispatcher 2 down: $SEEN"
browse od2 /od/2
expect_contains "its page says so" "does not answer" "$DOM"
