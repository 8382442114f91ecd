#!/usr/bin/env python3
"""A vif's transmit rate limit (--net user,rate=2Mb/s): 512 KiB echoed by the
echo appliance must take about 512 KiB / 250 KB/s = 2.1 s on the way back —
at least 1.5 s, and not so long that TCP gave up and waited out timeouts
(under 15 s). Then the same without a limit is much faster. Through libslirp
(frames of the wire's size) and through passt, where the guest sends 64 KiB
GSO packets: each is worth several intervals of credit at this rate and must
not pass on every full bucket.

usage: rate_limit_test.py ATOLL ECHO_IMAGE"""

import shutil
import socket
import sys
import time

from appliance import Appliance, free_port

SIZE = 512 * 1024


def echo_time(port):
    blob = bytes(i & 0xFF for i in range(SIZE))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        t0 = time.monotonic()
        s.sendall(blob)
        s.shutdown(socket.SHUT_WR)
        got = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        elapsed = time.monotonic() - t0
    if bytes(got) != blob:
        print(f"FAIL: echo differs ({len(got)} bytes back)")
        sys.exit(1)
    return elapsed


def check(atoll, image, backend):
    port = free_port()
    with Appliance(atoll, image, ["--net", f"user,backend={backend},rate=2Mb/s,hostfwd=tcp:127.0.0.1:{port}-:7"],
                   ready=r"echo: TCP and UDP port 7"):
        limited = echo_time(port)
    print(f"{backend}: 512 KiB echoed through a 2 Mb/s vif in {limited:.2f} s")
    if not 1.5 <= limited <= 15:
        print("FAIL: expected 1.5-15 s")
        return False
    port = free_port()
    with Appliance(atoll, image, ["--net", f"user,backend={backend},hostfwd=tcp:127.0.0.1:{port}-:7"],
                   ready=r"echo: TCP and UDP port 7"):
        free = echo_time(port)
    print(f"{backend}: 512 KiB echoed without a limit in {free:.2f} s")
    if free * 3 > limited:
        print("FAIL: the limit made no clear difference")
        return False
    return True


def main():
    atoll, image = sys.argv[1:3]
    backends = ["slirp"] + (["passt"] if shutil.which("passt") else [])
    for backend in backends:
        if not check(atoll, image, backend):
            return 1
    if "passt" not in backends:
        print("SKIP: passt is not installed (scripts/setup.sh installs it); libslirp passed")
        return 77
    print("rate_limit: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
