# Connections a client opens and leaves: hundreds of idle ones cost no thread each (omniORB
# serves them from a pool past a limit) and do not stop the oserv from serving; idle ones and
# half-open ones (a request that never arrives whole) are closed after --idle-connection-timeout;
# a call that runs longer than that timeout is not cut.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || { echo "python3 is needed"; exit 77; }
PORT=$(free_port)
install_instance oserv 127.0.0.2 "$PORT" >/dev/null
expect_code "start" 0 rc oserv start --idle-connection-timeout 3
PID=$(pid_of oserv)
threads() { sed -n 's/^Threads:\s*//p' "/proc/$PID/status"; }

# holder N [BYTES]: opens N connections (sending BYTES on each, a partial GIOP request), prints
# "open", then waits until the oserv has closed all of them (or 20 s) and prints how many it did.
cat >"$WORK/holder.py" <<'PY'
import socket, sys, time
n, data, port = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.2", port))
    if data:
        s.sendall(data)
    s.settimeout(0.05)
    conns.append(s)
print("open", flush=True)
closed, deadline = set(), time.time() + 20
while len(closed) < n and time.time() < deadline:
    for i, s in enumerate(conns):
        if i in closed:
            continue
        try:
            if s.recv(4096) == b"":
                closed.add(i)
        except socket.timeout:
            pass
        except OSError:
            closed.add(i)
print("closed", len(closed), flush=True)
PY

step "600 idle connections: a bounded number of threads, the oserv still serves"
before=$(threads)
coproc HOLDER { python3 "$WORK/holder.py" 600 "" "$PORT"; }
read -r line <&"${HOLDER[0]}"
expect_eq "holder" open "$line"
expect_code "odadmin while they are open" 0 odadmin --id oserv ping
expect_code "an IIOP client too" 0 odadmin --host "127.0.0.2:$PORT" ping
during=$(threads)
echo "threads: $before before, $during with 600 idle connections"
[ "$during" -lt $((before + 300)) ] || fail "600 idle connections made $during threads (from $before)"
read -r line <&"${HOLDER[0]}"
expect_eq "all closed after the idle timeout" "closed 600" "$line"
wait "$HOLDER_PID" 2>/dev/null

step "half-open connections: a request that never arrives whole is dropped with its connection"
# A GIOP 1.2 request header announcing 100 bytes of which none follow; and half a header.
expect_eq "announced body never sent" "closed 1" \
  "$(python3 "$WORK/holder.py" 1 47494f5001020100640000000000 "$PORT" | tail -n1)"
expect_eq "half a header" "closed 1" "$(python3 "$WORK/holder.py" 1 47494f50 "$PORT" | tail -n1)"
expect_code "still serves" 0 odadmin --id oserv ping

step "a call running longer than the idle timeout is not cut"
printf '#!/bin/sh\nsleep 5\necho slept\n' >"$WORK/slow.sh"
chmod +x "$WORK/slow.sh"
expect_code "install" 0 wclass --id oserv method Slow nap "$WORK/slow.sh"
OBJ=$(wclass --id oserv create Slow Slow s1) || fail "create: $OBJ"
expect_code "over the Unix socket" 0 objcall --id oserv "$OBJ" nap
expect_eq "answered" slept "$OUT"
expect_code "over IIOP" 0 objcall --host "127.0.0.2:$PORT" "$OBJ" nap
echo PASS
