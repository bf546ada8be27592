# Split brain refused: while black runs on host A from the shared directories, starting the same
# instance on host B fails and names the owner; nothing on the shared disk is disturbed.
# The "hosts" are namespaces of one kernel, which share the flock on DBDIR/oserv.owner: across
# real hosts that lock does not hold, and fencing is what prevents this (docs/HA.md).
# shellcheck source=tests/scenarios/netns.sh
. "$(dirname "$0")/netns.sh"
three_hosts
move_ip 10.77.0.101 "" A
# The service address is (wrongly) up on B too: only the shared disk can refuse the second start.
ip -n "oo${TAG}B" addr add 10.77.0.101/32 dev lo
BLACK=$WORK/shared/etc
install_on A black 10.77.0.101 "$BLACK" --managed-node --tmr "10.77.0.100:$PORT"
expect_code "start black on A" 0 on A "$BLACK/black/oserv.rc" start
PID=$(head -n1 "$BLACK/run/black.pid")

step "the same instance started on B is refused"
expect_code "oserv on B" 3 on B env OSERV_ETC_ROOT="$BLACK" oserv --id black
expect_contains "names the running owner" "already running (pid $PID" "$OUT"
expect_code "oserv.rc start on B does not start a second one" 0 on B "$BLACK/black/oserv.rc" start
expect_contains "reports the running one" "already running (pid $PID)" "$OUT"
expect_eq "still the same process" "$PID" "$(head -n1 "$BLACK/run/black.pid")"

step "with a separate run directory, the database itself refuses, naming instance, pid and host"
expect_code "second owner" 3 on B env OSERV_ETC_ROOT="$WORK/other-etc" oserv --id black \
  --dbdir "$WORK/shared/db/black" --hostname 10.77.0.101 --port "$PORT"
expect_contains "database owner" "in use by another oserv (instance black, pid $PID, host" "$OUT"
ip -n "oo${TAG}B" addr del 10.77.0.101/32 dev lo  # and the duplicate address goes away
ip -n "oo${TAG}T" neigh flush dev "e${TAG}T"
expect_code "black still answers" 0 on T env OSERV_ETC_ROOT="$TMR" wping 10.77.0.101
echo PASS
