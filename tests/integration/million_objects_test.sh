# A million objects cost nothing at start: no servant or reference is made per object, so an
# oserv over a database of 1,000,000 objects starts with the memory of one over an empty database
# (resident size compared, not time), and any of the objects answers through its reference.
# A listing of 50,000 of their names, a reply over omniORB's default message size of 2 MB, comes
# back whole.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
install_instance big 127.0.0.2 "$PORT" --force-bind >/dev/null
install_instance empty 127.0.0.3 "$PORT" --force-bind >/dev/null
expect_code "populate 1,000,000 objects" 0 populate_objects "$WORK/db/big" 1000000 50000
expect_code "start big" 0 rc big start
expect_code "start empty" 0 rc empty start
rss() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$(pid_of "$1")/status"; }
BIG=$(rss big) EMPTY=$(rss empty)
echo "resident after start: $BIG kB with 1,000,000 objects, $EMPTY kB with none"
[ -n "$BIG" ] && [ -n "$EMPTY" ] || fail "cannot read the oservs' resident sizes"
[ "$(du -k "$WORK/db/big/data.mdb" | cut -f1)" -gt 20000 ] || fail "the database was not populated"
[ $((BIG - EMPTY)) -lt 16384 ] ||
  fail "the oserv over 1,000,000 objects holds $((BIG - EMPTY)) kB more than an empty one"

step "any object answers through its reference, typed by its class"
REGION=$(odadmin --id big | sed -n 's/^Region = //p')
for n in 1000000 1543210 1999999; do
  expect_code "object $n" 0 idlcall --id big "$REGION.1.$n" class_name
  expect_eq "class of $n" Filler "$OUT"
done
expect_code "one past the last" 1 idlcall --id big "$REGION.1.2000000" class_name
expect_contains "one past the last" "does not exist" "$OUT"

step "50,000 names in one reply (over 2 MB)"
expect_code "wlookup -a" 0 wlookup --id big -r Filler -a
expect_eq "every name" 50000 "$(grep -c '^filler' <<<"$OUT")"
echo PASS
