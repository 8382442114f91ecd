#!/usr/bin/env python3
"""Slow-loris and connection floods from the host against an appliance behind
`atoll run -p`: while 200 connections each send one byte a second, and then
while 5,000 connections are opened and dropped (closed at once, reset, or cut
mid-request; for httpd also `ab -n 5000 -c 100` without keep-alive), a normal
client keeps making requests and each must be answered correctly; afterwards
the hypervisor is alive and its open descriptors (its own and its children's)
come back to the count before the attack.

    slow_flood_test.py httpd ATOLL HTTPD_DEMO_IMAGE
    slow_flood_test.py kvstore ATOLL KVSTORE_IMAGE

Correctness only: no request is timed; the waits are bounds against a hang.
Skips (77) without curl (httpd) or redis-cli (kvstore)."""

import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

from appliance import free_port, httpd_behind, kvstore_behind, new_disk, report
from httpd_test import CheckFailed, curl
from kvstore_test import Resp

SLOW_CONNS = 200
FLOOD_CONNS = 5000
INDEX_MARK = b"Hello from an Atoll appliance"
# A slow request, one byte a second: httpd's is a request head that is not
# done in 20 s (its header timeout, 10 s, cuts it off), kvstore's a PING
# spread over 14 s (it has no such timeout, and answers each).
SLOW_BYTES = {"httpd": b"GET / HTTP/1.1\r\nX: y",
              "kvstore": b"*1\r\n$4\r\nPING\r\n"}
FLOOD_REQUEST = {"httpd": b"GET / HTTP/1.1\r\nHo", "kvstore": b"*2\r\n$3\r\nGET\r\n$"}
FD_SETTLE_S = 120  # a bound for the forwards to close, not a measurement


class NormalClient:
    """Makes one correct request after another on fresh connections until
    stopped; counts the answered ones and keeps the failures."""

    def __init__(self, kind, port):
        self.kind, self.port = kind, port
        self.ok = 0
        self.failures = []
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def one(self, n):
        if self.kind == "httpd":
            r = curl(f"http://127.0.0.1:{self.port}/")
            if r.status != 200 or INDEX_MARK not in r.body:
                raise CheckFailed(f"GET / gave {r.status}")
            return
        c = Resp("127.0.0.1", self.port, timeout=60)
        try:
            if c.call("SET", "normal", n) != "OK" or c.call("GET", "normal") != str(n).encode():
                raise CheckFailed("SET then GET did not round-trip")
        finally:
            c.close()

    def loop(self):
        n = 0
        while not self.stop_flag.is_set():
            n += 1
            try:
                self.one(n)
                self.ok += 1
            except (CheckFailed, OSError, EOFError, ValueError, subprocess.SubprocessError) as e:
                self.failures.append(f"request {n}: {e}")
            time.sleep(0.2)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(120)


def slow_loris(kind, port):
    """SLOW_CONNS connections, each sending SLOW_BYTES one byte a second
    (one pass over all of them a second). Returns how many the server closed
    without a word and how many it answered (httpd: 408, kvstore: +PONG)."""
    conns = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(SLOW_CONNS)]
    data = SLOW_BYTES[kind]
    closed, answered = 0, 0
    for i in range(len(data)):
        start = time.monotonic()
        for s in conns:
            try:
                s.send(data[i:i + 1])
            except OSError:
                pass  # closed by the server already: counted below
        time.sleep(max(0.0, 1.0 - (time.monotonic() - start)))
    for s in conns:
        s.settimeout(0.5 if kind == "httpd" else 60)
        try:
            got = s.recv(4096)
            answered += got.startswith(b"HTTP/1.1 408" if kind == "httpd" else b"+PONG")
            closed += not got
        except ConnectionResetError:
            closed += 1
        except socket.timeout:
            pass
        s.close()
    return closed, answered


def flood_one(port, how, request):
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    if how == 1:
        s.sendall(request)
    if how == 2:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()


def flood(kind, port, threads=20):
    """FLOOD_CONNS connections opened and dropped: a third closed at once, a
    third cut mid-request, a third reset. Returns the connects that failed."""
    errors = []

    def worker(k):
        for i in range(k, FLOOD_CONNS, threads):
            try:
                flood_one(port, i % 3, FLOOD_REQUEST[kind])
            except OSError as e:
                errors.append(repr(e))

    ts = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def ab(port):
    out = subprocess.run(["ab", "-q", "-n", "5000", "-c", "100", "-s", "60", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, timeout=600).stdout
    counts = dict(re.findall(r"^(Complete|Failed) requests:\s+(\d+)", out, re.M))
    return counts, out


def fds(pid):
    """Open descriptors of `pid` and of its children (the guest, a helper)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            total += len(os.listdir(f"/proc/{p}/fd"))
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except FileNotFoundError:
            pass
    return total


def fds_back(pid, baseline):
    deadline = time.monotonic() + FD_SETTLE_S
    n = fds(pid)
    while n > baseline and time.monotonic() < deadline:
        time.sleep(0.5)
        n = fds(pid)
    return n


def main():
    kind, atoll, image = sys.argv[1:4]
    tools = ("curl",) if kind == "httpd" else ("redis-cli",)
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        print("SKIP: needs " + ", ".join(missing))
        return 77
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
    failures = []

    def check(name, ok, detail=""):
        print(("PASS " if ok else "FAIL ") + name + ("" if ok or not detail else ": " + detail))
        if not ok:
            failures.append(name + (": " + detail if detail else ""))

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "httpd":
            app = httpd_behind(atoll, image, port)
        else:
            app = kvstore_behind(atoll, image, port, new_disk(os.path.join(tmp, "kv.img")))
        with app:
            warm = NormalClient(kind, port)
            warm.one(0)
            time.sleep(1)
            baseline = fds(app.proc.pid)
            print(f"descriptors of the hypervisor and its children: {baseline}")

            with NormalClient(kind, port) as normal:
                closed, answered = slow_loris(kind, port)
            print(f"slow-loris: {SLOW_CONNS} connections, {closed} closed by the server, {answered} answered "
                  f"({'408' if kind == 'httpd' else '+PONG'}); "
                  f"{normal.ok} normal requests beside them")
            check("a normal client served throughout the slow-loris", normal.ok > 0 and not normal.failures,
                  "; ".join(normal.failures[:5]))
            if kind == "kvstore":
                check("every slow PING answered", answered == SLOW_CONNS, f"{answered} of {SLOW_CONNS}")
            n = fds_back(app.proc.pid, baseline)
            check(f"descriptors back after the slow-loris ({n}, were {baseline})", n <= baseline)

            with NormalClient(kind, port) as normal:
                errors = flood(kind, port)
                counts, out = ab(port) if kind == "httpd" and shutil.which("ab") else (None, "")
            print(f"flood: {FLOOD_CONNS} connections opened and dropped ({len(errors)} connects failed); "
                  + (f"ab: {counts}; " if counts is not None else "") + f"{normal.ok} normal requests beside them")
            check("the flood's connects all accepted", not errors, "; ".join(errors[:5]))
            if counts is not None:
                check("ab -n 5000 -c 100: no failed requests", counts == {"Complete": "5000", "Failed": "0"},
                      out[-1500:])
            check("a normal client served throughout the flood", normal.ok > 0 and not normal.failures,
                  "; ".join(normal.failures[:5]))
            n = fds_back(app.proc.pid, baseline)
            check(f"descriptors back after the flood ({n}, were {baseline})", n <= baseline)
            try:
                NormalClient(kind, port).one(-1)
                check("a normal request at the end", True)
            except (CheckFailed, OSError, EOFError) as e:
                check("a normal request at the end", False, str(e))
            check("the hypervisor is alive", app.alive())
            return report(failures, app.output())


if __name__ == "__main__":
    sys.exit(main())
