#!/usr/bin/env python3
"""10,000 connections open at once against the httpd appliance, through the
default path (-p, user networking): every connection sends a GET and is
answered 200 while all of them stay open (keep-alive), then every one sends a
second GET on the same connection and is answered again, which proves the
appliance held all of them at once. Prints the guest memory each connection
cost (growth of the guest's touched RAM over the idle appliance).

Before, lwIP's socket table held 4,000 sockets (MEMP_NUM_NETCONN), so
connections past it waited in the listen backlog and were never answered.

usage: conn_open_test.py ATOLL HTTPD_DEMO"""

import os
import resource
import selectors
import socket
import sys
import time

from appliance import Appliance, free_port

COUNT = 10000
IN_FLIGHT = 256  # connections not answered yet at a time (the listen backlog is 255)
# Bounds the run; a healthy one takes seconds. Not a pass criterion by itself:
# a connection left unanswered when it expires is what fails.
RUN_LIMIT_S = 240
REQUEST = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.answers = 0
        self.closed = False


def reply_complete(buf):
    """(complete, status 200) for one HTTP/1.1 reply at the start of `buf`."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False, False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return len(buf) >= end + 4 + length, buf.startswith(b"HTTP/1.1 200")


def pump(sel, pending, want, deadline):
    """Runs the selector until every connection has `want` answers or the
    deadline passes; `pending` lists sockets still to connect. Returns how many
    connections got a bad answer."""
    bad = 0
    waiting = sum(1 for key in sel.get_map().values() if key.data.answers < want) + len(pending)
    in_flight = 0
    while waiting and time.monotonic() < deadline:
        while pending and in_flight < IN_FLIGHT:
            c = pending.pop()
            c.sock.connect_ex(c.address)
            sel.register(c.sock, selectors.EVENT_WRITE, c)
            in_flight += 1
        for key, events in sel.select(timeout=1):
            c = key.data
            if events & selectors.EVENT_WRITE:
                if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    bad += 1
                    waiting -= 1
                    in_flight -= 1
                    sel.unregister(c.sock)
                    continue
                c.sock.send(REQUEST)
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            chunk = c.sock.recv(65536)
            if not chunk:  # closed by the appliance: counts against it
                sel.unregister(c.sock)
                c.closed = True
                if c.answers < want:
                    waiting -= 1
                    bad += 1
                in_flight -= c.answers == 0
                continue
            c.buf += chunk
            done, ok = reply_complete(c.buf)
            if done:
                c.answers += 1
                c.buf = b""
                in_flight -= c.answers == 1
                if c.answers == want:
                    waiting -= 1
                    bad += 0 if ok else 1
    return bad


def guest_rss_kib(atoll_pid):
    """Guest RAM the appliance has touched (its process's shared RSS)."""
    for task in os.listdir(f"/proc/{atoll_pid}/task"):
        with open(f"/proc/{atoll_pid}/task/{task}/children") as f:
            for child in f.read().split():
                with open(f"/proc/{child}/comm") as comm:
                    if comm.read().strip() == "atoll-slirp":
                        continue
                with open(f"/proc/{child}/status") as status:
                    for line in status:
                        if line.startswith("RssShmem:"):
                            return int(line.split()[1])
    return None


def main():
    atoll, image = sys.argv[1:3]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < COUNT + 64:
        print(f"SKIP: RLIMIT_NOFILE hard limit {hard} < {COUNT + 64}")
        return 77
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = free_port()
    args = ["-m", "128M", "-p", f"{port}:80"]
    guest = ["--quiet", "--max-conns", str(COUNT + 100), "--header-timeout", "300", "--idle-timeout", "300"]
    with Appliance(atoll, image, args, guest_args=guest, ready=r"httpd: serving") as app:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(REQUEST)
            s.recv(65536)
        idle_kib = guest_rss_kib(app.proc.pid)
        sel = selectors.DefaultSelector()
        conns = []
        for _ in range(COUNT):
            c = Conn(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            c.sock.setblocking(False)
            c.address = ("127.0.0.1", port)
            conns.append(c)
        deadline = time.monotonic() + RUN_LIMIT_S
        try:
            bad = pump(sel, list(conns), 1, deadline)
            first = sum(1 for c in conns if c.answers >= 1)
            for c in conns:
                if c.answers == 1 and not c.closed:
                    c.sock.send(REQUEST)
            bad += pump(sel, [], 2, deadline)
            second = sum(1 for c in conns if c.answers >= 2)
            busy_kib = guest_rss_kib(app.proc.pid)
        finally:
            for c in conns:
                c.sock.close()
        ok = first == COUNT and second == COUNT and bad == 0
        print(("PASS" if ok else "FAIL") + f" {COUNT} connections open at once: {first} answered, {second} answered "
              f"again on the same connection, {bad} bad answers")
        if idle_kib is not None and busy_kib is not None:
            print(f"guest memory: {idle_kib} KiB idle, {busy_kib} KiB with {COUNT} connections: "
                  f"{(busy_kib - idle_kib) * 1024 // COUNT} bytes per connection")
        return app.verdict(ok)


if __name__ == "__main__":
    sys.exit(main())
