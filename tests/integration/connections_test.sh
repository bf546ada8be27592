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

# holder N BYTES PORT [CA]: opens N connections (over TLS, checked against CA, if given; sending
# BYTES on each, a partial GIOP request), prints "open", then waits until the oserv has closed
# all of them (or 20 s) and prints how many it did.
cat >"$WORK/holder.py" <<'PY'
import socket, ssl, sys, time
n, data, port = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3])
tls = None
if len(sys.argv) > 4:
    tls = ssl.create_default_context(cafile=sys.argv[4])
    tls.check_hostname = False
conns = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.2", port))
    if tls:
        s = tls.wrap_socket(s)
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
        except (socket.timeout, ssl.SSLWantReadError):
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
# Over TLS, as anyone may connect: a GIOP 1.2 request (join_region on the Dispatcher, which
# anyone may call) whose arguments never arrive whole; half a GIOP header; and, in plain TCP to
# the TLS port, a GIOP header announcing 100 bytes.
CA=$WORK/db/oserv/ssl/ca.pem
request() {  # the request's hex
  python3 - <<'PY'
import struct
key, op = b"Dispatcher", b"join_region\0"
body = struct.pack("<IB3xH2xI", 7, 3, 0, len(key)) + key
body += b"\0" * (-(12 + len(body)) % 4) + struct.pack("<I", len(op)) + op
body += b"\0" * (-(12 + len(body)) % 4) + struct.pack("<I", 0)
body += b"\0" * (-(12 + len(body)) % 8)  # GIOP 1.2: the arguments start 8-aligned
# The token: a string of 60,000 bytes of which 16,000 are sent, more than omniORB reads with the
# header, so that the header is processed and the arguments are waited for.
body += struct.pack("<I", 60000) + b"t" * 16000
print((b"GIOP\x01\x02\x01\x00" + struct.pack("<I", len(body) + 44000) + body).hex())
PY
}
expect_eq "arguments never sent (TLS)" "closed 1" \
  "$(python3 "$WORK/holder.py" 1 "$(request)" "$PORT" "$CA" | tail -n1)"
expect_eq "half a header (TLS)" "closed 1" \
  "$(python3 "$WORK/holder.py" 1 47494f50 "$PORT" "$CA" | tail -n1)"
expect_eq "plain GIOP to the TLS port" "closed 1" \
  "$(python3 "$WORK/holder.py" 1 47494f5001020100640000000000 "$PORT" | tail -n1)"
expect_code "still serves" 0 odadmin --id oserv ping
expect_code "and over TLS" 0 odadmin --host "127.0.0.2:$PORT" --ca "$CA" ping

step "a call running longer than the idle timeout is not cut"
printf '#!/bin/sh\nsleep 5\necho slept\n' >"$WORK/slow.sh"
chmod +x "$WORK/slow.sh"
expect_code "install" 0 wclass --id oserv method Slow nap "$WORK/slow.sh"
OBJ=$(wclass --id oserv create Slow Slow s1) || fail "create: $OBJ"
expect_code "over the Unix socket" 0 objcall --id oserv "$OBJ" nap
expect_eq "answered" slept "$OUT"
expect_code "over IIOP" 0 objcall --host "127.0.0.2:$PORT" "$OBJ" nap
echo PASS
