#!/usr/bin/env python3
"""The guest's vif closed and reopened under a live TCP connection
(net_reconnect.cpp), through user-mode networking (slirp hostfwd).

Connection 1 sends exactly 256 KiB (the guest closes its vif once it has
echoed that much), waits for the guest's "vif closed", sends the rest of
1 MiB into the gap and reads the echo: the same connection must carry every
byte back intact once the vif is reopened (TCP retransmission on both sides
bridges the gap). Connection 2, opened after the reconnect, must echo too.
An empty connection 3 ends the run: the guest then exits 0 with
"net_reconnect: PASSED".

usage: reconnect_test.py ATOLL IMAGE"""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps"))
from appliance import Appliance, free_port  # noqa: E402

CLOSE_AFTER = 256 * 1024
TOTAL = 1 << 20


def check(cond, what):
    print(("PASS " if cond else "FAIL ") + what, flush=True)
    if not cond:
        raise SystemExit(1)


def wait_for_console(app, text, timeout):
    deadline = time.monotonic() + timeout
    while text not in app.output():
        if not app.alive() or time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def read_exactly(sock, n):
    got = bytearray()
    while len(got) < n:
        chunk = sock.recv(min(65536, n - len(got)))
        if not chunk:
            break
        got += chunk
    return bytes(got)


def across_the_gap(app, port, blob):
    """Connection 1: the first part, the close, the rest into the gap."""
    errors = []
    with socket.create_connection(("127.0.0.1", port), timeout=20) as s:

        def sender():
            try:
                s.sendall(blob[:CLOSE_AFTER])
                if not wait_for_console(app, "net_reconnect: vif closed", 10):
                    errors.append("the guest never said its vif closed")
                    return
                s.sendall(blob[CLOSE_AFTER:])
                s.shutdown(socket.SHUT_WR)
            except OSError as e:
                errors.append(f"send: {e}")

        t = threading.Thread(target=sender)
        t.start()
        start = time.monotonic()
        try:
            first = read_exactly(s, CLOSE_AFTER)
            rest = read_exactly(s, TOTAL - CLOSE_AFTER)
            tail = s.recv(1)
        except OSError as e:
            first, rest, tail = b"", b"", b""
            errors.append(f"receive: {e}")
        t.join()
        elapsed = time.monotonic() - start
    check(not errors, "connection 1 kept working (" + ("; ".join(errors) or "no socket errors") + ")")
    check(first == blob[:CLOSE_AFTER], f"the first {CLOSE_AFTER} bytes came back before the close")
    check("net_reconnect: vif reopened" in app.output(), "the guest reopened its vif during the transfer")
    check(rest == blob[CLOSE_AFTER:] and tail == b"",
          f"the {TOTAL - CLOSE_AFTER} bytes sent into the gap came back intact on the same connection, "
          f"then EOF ({len(rest)} bytes, {elapsed:.1f} s)")


def main():
    atoll, image = sys.argv[1:3]
    port = free_port()
    blob = bytes((i * 131 + (i >> 8)) & 0xFF for i in range(TOTAL))
    net = f"user,hostfwd=tcp:127.0.0.1:{port}-:7"
    with Appliance(atoll, image, ["--net", net], ready=r"net_reconnect: listening on 7") as app:
        across_the_gap(app, port, blob)
        fresh = os.urandom(64 * 1024)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(fresh)
            s.shutdown(socket.SHUT_WR)
            got = read_exactly(s, len(fresh) + 1)
        check(got == fresh, f"a new connection after the reconnect echoed 64 KiB intact ({len(got)} bytes)")
        # The third and last connection carries nothing: the guest exits after
        # it, with no echo left unsent.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.shutdown(socket.SHUT_WR)
            check(s.recv(1) == b"", "an empty last connection ends the run")
        app.proc.wait(20)
        out = app.output()
        sys.stdout.write("---- appliance console ----\n" + out)
        check(app.proc.returncode == 0 and "net_reconnect: PASSED" in out,
              f"the guest's own checks passed (exit {app.proc.returncode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
