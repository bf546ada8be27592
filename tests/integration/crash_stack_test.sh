# The whole stack under kill -9: four CORBA clients run framework transactions (begin, puts, a
# sub-transaction committed or aborted, commit or abort) against a live oserv, which is killed
# with SIGKILL at random moments and restarted with oserv.rc. Afterwards every commit the clients
# saw acknowledged is in the database with its value, nothing aborted or never committed is,
# and each commit whose outcome the client could not know is all there or not at all.
# OPENOSERV_CRASH_KILLS sets the number of kills (default 100).
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
KILLS=${OPENOSERV_CRASH_KILLS:-100}
WRITERS=4
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
expect_code "start" 0 rc oserv start
SOCKET=$OSERV_ETC_ROOT/run/oserv.sock

step "$WRITERS writers, $KILLS kills"
for w in $(seq 1 $WRITERS); do
  crash_writer write "$SOCKET" "$WORK/client$w.log" "$w" "$WORK/stop" >"$WORK/writer$w.out" 2>&1 &
  BG_PIDS="$BG_PIDS $!"
done
for k in $(seq 1 "$KILLS"); do
  sleep "0.$((RANDOM % 25 + 5))"
  crash oserv
  rc oserv start >"$WORK/start.out" 2>&1 || fail "start after kill $k: $(cat "$WORK/start.out")"
done
sleep 0.5
touch "$WORK/stop"
for pid in $BG_PIDS; do wait "$pid" || fail "a writer failed: $(cat "$WORK"/writer*.out)"; done
cat "$WORK"/writer*.out
recovered=$(grep -c "rolled back" "$WORK/db/oserv/oservlog")
echo "recoveries that rolled back open transactions: $recovered"

step "the database holds exactly what the clients were told"
expect_code "check" 0 crash_writer check "$SOCKET" "$WORK"/client*.log
echo "$OUT"
commits=$(grep -c '^C' "$WORK"/client*.log | awk -F: '{s += $2} END {print s}')
[ "$commits" -gt "$KILLS" ] || fail "only $commits acknowledged commits: the writers barely ran"
echo PASS
