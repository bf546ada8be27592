# The oserv's process state is its own: under umask 000 nothing it or oinstall creates is
# writable by group or others (the backup of data.mdb is private to its owner); it runs in /,
# holds no descriptor inherited from whoever started it, and its clients and scripts still find
# an instance given with relative paths.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
umask 000
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
exec 7>"$WORK/inherited"
expect_code "start with descriptor 7 open" 0 rc oserv start
exec 7>&-
PID=$(pid_of oserv)

step "nothing writable by group or others under umask 000"
TXN=$(odb --id oserv begin) || fail "begin: $TXN"
expect_code "a change" 0 odb --id oserv put "$TXN" names probe value
expect_code "commit" 0 odb --id oserv commit "$TXN"
expect_code "backup" 0 wbkupdb --id oserv "$WORK/backup"
expect_eq "backup data.mdb private" 600 "$(stat -c %a "$WORK/backup/data.mdb")"
expect_eq "data.mdb private" 600 "$(stat -c %a "$WORK/db/oserv/data.mdb")"
loose=$(find "$WORK" -mindepth 1 ! -name inherited ! -type l ! -type s -perm /022 -printf '%m %p\n')
expect_eq "group/other-writable files" "" "$loose"
expect_eq "ETCDIR" 755 "$(stat -c %a "$OSERV_ETC_ROOT/oserv")"

step "working directory / and no inherited descriptor"
expect_eq "cwd" / "$(readlink "/proc/$PID/cwd")"
held=$(for fd in /proc/"$PID"/fd/*; do readlink "$fd"; done | grep -c "$WORK/inherited")
expect_eq "descriptor 7 of the starting shell" 0 "$held"

step "an instance started with relative paths still finds its files"
expect_code "stop" 0 rc oserv stop
cd "$WORK" || fail "cd $WORK"
expect_code "start with a relative --dbdir" 0 oserv --id oserv --dbdir db/oserv
expect_code "answers" 0 odadmin --id oserv
expect_contains "absolute DBDIR" "$WORK/db/oserv" "$OUT"
echo PASS
