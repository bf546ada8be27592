# A full disk (DBDIR on a small tmpfs; needs root): the commit that does not fit fails with
# "No space left on device" naming the file, the transaction ends and its locks are released,
# the oserv logs it and keeps serving reads; once there is room again, every commit acknowledged
# before is there and the failed one is not.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root (mounts a tmpfs)"; exit 77; }
mkdir -p "$WORK/db"
mount -t tmpfs -o size=3m openoserv-test "$WORK/db" || { echo "cannot mount a tmpfs"; exit 77; }
unmount() { umount -l "$WORK/db" 2>/dev/null; }
CLEANUP_HOOKS="unmount $CLEANUP_HOOKS"
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
expect_code "start" 0 rc oserv start
BIG=$(head -c 100000 /dev/zero | tr '\0' x)

step "commits until the disk is full"
last_good=0
for i in $(seq 1 100); do
  T=$(odb --id oserv begin) || fail "begin $i: $T"
  if ! OUT=$(odb --id oserv put "$T" objects "k$i" "$BIG" 2>&1); then
    FAILED_AT=$i
    odb --id oserv abort "$T" >/dev/null 2>&1
    break
  fi
  if ! OUT=$(odb --id oserv commit "$T" 2>&1); then
    FAILED_AT=$i
    break
  fi
  last_good=$i
done
[ -n "${FAILED_AT:-}" ] || fail "100 commits of 100 KB fitted on a 3 MB file system"
[ "$last_good" -gt 5 ] || fail "only $last_good commits fitted"
expect_contains "the reason" "No space left on device" "$OUT"
case "$OUT" in
  *"$WORK/db/oserv/data.mdb"* | *"$WORK/db/oserv/odb.log"*) ;;
  *) fail "the error names neither data.mdb nor odb.log: $OUT" ;;
esac

step "the transaction ended: no transaction, no lock; logged; reads go on"
expect_code "tmstat" 0 tmstat --id oserv
expect_eq "nothing open" "" "$OUT"
T=$(odb --id oserv begin) || fail "begin after the failure: $T"
expect_code "read an earlier commit" 0 odb --id oserv get "$T" objects k1
[ ${#OUT} = 100000 ] || fail "k1 has ${#OUT} bytes"
expect_code "the failed one is absent" 1 odb --id oserv get "$T" objects "k$FAILED_AT"
expect_code "abort" 0 odb --id oserv abort "$T"
expect_code "odadmin" 0 odadmin --id oserv
expect_contains "logged" "No space left on device" "$(cat "$WORK/db/oserv/oservlog")"

step "with room again, after a restart: every acknowledged commit, not the failed one"
mount -o remount,size=20m "$WORK/db" || fail "remount"
expect_code "restart" 0 rc oserv restart
T=$(odb --id oserv begin) || fail "begin: $T"
for i in $(seq 1 "$last_good"); do
  odb --id oserv get "$T" objects "k$i" >/dev/null || fail "acknowledged commit k$i lost"
done
expect_code "the failed one never happened" 1 odb --id oserv get "$T" objects "k$FAILED_AT"
expect_code "abort" 0 odb --id oserv abort "$T"
T=$(odb --id oserv begin) || fail "begin: $T"
expect_code "writes work again" 0 odb --id oserv put "$T" objects after "$BIG"
expect_code "commit" 0 odb --id oserv commit "$T"
echo PASS
