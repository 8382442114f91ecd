#!/usr/bin/env python3
"""httpd beyond its memory budget (issue 12): connections that each hold a
12 KiB partial request head are opened one after another on a small appliance
(-m 8M) until httpd answers new ones 503 (or closes them unanswered) instead
of running its heap out. Then every connection it kept finishes its request
and gets its 200, and once they are closed a plain request is served again.
Before the budget the appliance crashed out of memory.

usage: httpd_memory_test.py ATOLL HTTPD_DEMO_IMAGE"""

import re
import resource
import socket
import sys
import time

from appliance import Appliance, free_port, report

MAX_CONNECTIONS = 1500  # 18+ MiB of held heads: far beyond an 8 MiB guest
PAD = 12 * 1024
REFUSALS_WANTED = 20
REQUEST = b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n"
HELD_HEAD = b"GET /index.html HTTP/1.1\r\nHost: t\r\nX-Pad: " + b"a" * PAD


def read_reply(s):
    """(status, head, body) of one response, or None if the connection ended
    without one (closed at once, or reset)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
        while len(body) < length:
            chunk = s.recv(65536)
            if not chunk:
                return None
            body += chunk
    except ConnectionError:
        return None
    return int(head.split(b" ", 2)[1]), head, body


def open_held(port):
    """Opens connections until REFUSALS_WANTED are refused; returns the kept ones and the counts."""
    held, refused_503, closed = [], 0, 0
    for _ in range(MAX_CONNECTIONS):
        s = socket.create_connection(("127.0.0.1", port), timeout=30)
        try:
            s.sendall(REQUEST)
        except ConnectionError:
            pass
        reply = read_reply(s)
        if reply and reply[0] == 200:
            s.sendall(HELD_HEAD)  # the next request's head, left unfinished
            held.append(s)
            continue
        if reply:
            if reply[0] != 503 or b"\r\nConnection: close" not in reply[1]:
                raise AssertionError(f"a new connection got {reply[1][:200]!r}, expected 503 with Connection: close")
            refused_503 += 1
        else:
            closed += 1
        s.close()
        if refused_503 + closed >= REFUSALS_WANTED:
            break
    return held, refused_503, closed


def plain_request(port, deadline):
    """A fresh connection's request until it is served: the server learns of
    the closed connections on its next turns, so a 503 may come first."""
    while time.monotonic() < deadline:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(REQUEST)
            reply = read_reply(s)
        if reply and reply[0] == 200:
            return True
    return False


def main():
    atoll, image = sys.argv[1], sys.argv[2]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, MAX_CONNECTIONS + 256)), hard))
    port = free_port()
    args = ["-m", "8M", "--net", f"user,hostfwd=tcp:127.0.0.1:{port}-:80"]
    guest = ["--quiet", "--header-timeout", "300", "--idle-timeout", "300"]
    failures = []
    with Appliance(atoll, image, args, guest_args=guest, ready=r"httpd: serving") as app:
        held, refused_503, closed = open_held(port)
        print(f"{len(held)} connections kept with {PAD >> 10} KiB heads, then {refused_503} answered 503 "
              f"and {closed} closed unanswered")
        if refused_503 + closed < REFUSALS_WANTED:
            failures.append(f"{MAX_CONNECTIONS} connections holding {PAD >> 10} KiB each were all kept")
        if refused_503 == 0:
            failures.append("no new connection was answered 503")
        if len(held) < 10:
            failures.append(f"only {len(held)} connections were served before the refusals")
        finished = 0
        for s in held:
            try:
                s.sendall(b"\r\n\r\n")
            except ConnectionError:
                continue
            reply = read_reply(s)
            if reply and reply[0] == 200 and b"Hello from an Atoll appliance" in reply[2]:
                finished += 1
        print(f"{finished} of {len(held)} kept connections finished their request with 200")
        if finished != len(held):
            failures.append(f"{len(held) - finished} kept connections were not served")
        for s in held:
            s.close()
        if not plain_request(port, time.monotonic() + 30):
            failures.append("no plain request was answered 200 after the kept connections closed")
        if not app.alive():
            failures.append("the appliance died")
        if "out of memory" in app.output():
            failures.append("the appliance ran out of memory")
        budget = re.search(r"memory budget (\d+) KiB", app.output())
        print("budget: " + (budget.group(1) + " KiB" if budget else "none printed"))
        console = app.output()
    return report(failures, console)


if __name__ == "__main__":
    sys.exit(main())
