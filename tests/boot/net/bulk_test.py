#!/usr/bin/env python3
"""TCP bulk transfers through netfront's offloads, checked byte for byte by
net_bulk: through user networking with libslirp (the default; no TSO offered
there) and with passt (the guest's GSO frames go whole), and once over
a TAP device inside a network namespace the test creates (the host kernel takes
the guest's GSO frames whole and hands coalesced ones back). The TAP half skips where the privilege is missing;
the whole test passes only when both halves that could run passed.

usage: bulk_test.py ATOLL IMAGE"""

import shutil
import socket
import subprocess
import sys
import threading
from netns import make_tap, run_in_new_netns, tap_unavailable

MIB = "8"


def echo_server(host):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 0))
    srv.listen(4)

    def serve():
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            def pump(c=conn):
                with c:
                    while data := c.recv(1 << 16):
                        c.sendall(data)
            threading.Thread(target=pump, daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    return srv


def run(atoll, image, net, host_for_guest, srv, extra=()):
    port = srv.getsockname()[1]
    r = subprocess.run([atoll, "run", image, "--net", net, "--", host_for_guest, str(port), MIB, *extra],
                       capture_output=True, text=True, timeout=80)
    sys.stdout.write(r.stdout + r.stderr)
    return r.returncode == 0 and "net_bulk: PASSED" in r.stdout


def inside(atoll, image):
    make_tap("atl0", "10.1.0.1/24")
    srv = echo_server("10.1.0.1")
    ok = run(atoll, image, "tap=atl0,ip=10.1.0.2/24", "10.1.0.1", srv, ["--offloads"])
    srv.close()
    return 0 if ok else 1


def main():
    if sys.argv[1] == "--inside":
        return inside(*sys.argv[2:4])
    atoll, image = sys.argv[1:3]
    if not shutil.which("passt"):
        print("SKIP: passt is not installed (scripts/setup.sh installs it)")
        return 77
    for backend, extra in (("passt", ["--tso"]), ("slirp", [])):
        print(f"== user networking ({backend})")
        srv = echo_server("127.0.0.1")
        ok = run(atoll, image, "user,backend=" + backend, "10.0.2.2", srv, extra)
        srv.close()
        if not ok:
            print(f"FAIL: bulk transfer through user networking ({backend})")
            return 1
    print("== TAP in a network namespace")
    why = tap_unavailable()
    if why:
        print("SKIP: the TAP half " + why)
        return 77
    return run_in_new_netns(__file__, "--inside", atoll, image)


if __name__ == "__main__":
    sys.exit(main())
