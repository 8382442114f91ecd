#!/usr/bin/env python3
"""The guest resolves a name through slirp's DNS proxy (10.0.2.3, which asks
the host's resolver). Skips when the host itself cannot resolve the name.

usage: dns_test.py ATOLL PROBE_IMAGE [NAME]"""

import socket
import subprocess
import sys


def main():
    atoll, probe = sys.argv[1:3]
    name = sys.argv[3] if len(sys.argv) > 3 else "deb.debian.org"
    try:
        host_addrs = {ai[4][0] for ai in socket.getaddrinfo(name, 80, socket.AF_INET)}
    except OSError as e:
        print(f"SKIP: the host cannot resolve {name} ({e})")
        return 77
    r = subprocess.run([atoll, "run", probe, "--net", "user", "--", "dns", name], capture_output=True, text=True,
                       timeout=60)
    sys.stdout.write(r.stdout + r.stderr)
    guest_addrs = {line.split()[-1] for line in r.stdout.splitlines() if " has address " in line}
    if r.returncode != 0 or not guest_addrs:
        return 1
    if not guest_addrs & host_addrs:
        print(f"FAIL: guest got {guest_addrs}, host {host_addrs}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
