#!/usr/bin/env python3
"""The echo appliance, reached from the host through user-mode networking
(slirp hostfwd), with real clients: nc for TCP and UDP, then Python sockets for
a 1 MiB stream, and 10,000 connections opened and closed one after another (no
descriptor or PCB leaks: the server still answers afterwards).

usage: echo_appliance_test.py ATOLL ECHO_IMAGE [--connections N]"""

import argparse
import shutil
import socket
import subprocess
import sys

from appliance import Appliance, free_port


def check(cond, what):
    print(("PASS " if cond else "FAIL ") + what, flush=True)
    if not cond:
        sys.exit(1)


def tcp_roundtrip(port, payload):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += chunk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("atoll")
    ap.add_argument("image")
    ap.add_argument("--connections", type=int, default=10000)
    a = ap.parse_args()
    if not shutil.which("nc"):
        print("SKIP: nc (netcat-openbsd) is not installed")
        return 77
    port = free_port()
    net = f"user,hostfwd=tcp:127.0.0.1:{port}-:7,hostfwd=udp:127.0.0.1:{port}-:7"
    with Appliance(a.atoll, a.image, ["--net", net], ready=r"echo: TCP and UDP port 7") as app:
        check("inet 10.0.2.15/" in app.output(), "the guest got 10.0.2.15 from slirp's DHCP")
        out = subprocess.run(["nc", "-N", "127.0.0.1", str(port)], input=b"hello over tcp\n", capture_output=True,
                             timeout=10).stdout
        check(out == b"hello over tcp\n", f"nc TCP echo ({out!r})")
        out = subprocess.run(["nc", "-u", "-w1", "127.0.0.1", str(port)], input=b"hello over udp\n",
                             capture_output=True, timeout=10).stdout
        check(out == b"hello over udp\n", f"nc UDP echo ({out!r})")
        blob = bytes((i * 131 + (i >> 8)) & 0xFF for i in range(1 << 20))
        check(tcp_roundtrip(port, blob) == blob, "1 MiB streamed through and back intact")
        for i in range(a.connections):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"x")
                if s.recv(1) != b"x":
                    check(False, f"connection {i} echoed")
        check(True, f"{a.connections} connections opened, used and closed")
        check(tcp_roundtrip(port, b"still here") == b"still here", "the server still answers afterwards")
        check(app.alive(), "the appliance is still running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
