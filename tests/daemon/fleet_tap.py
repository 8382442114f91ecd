#!/usr/bin/env python3
"""tap=NAME under the daemon: inside a network namespace the test makes, a
TAP with 10.2.0.1/24 on the host side and httpd-demo on it as 10.2.0.2
(vif = [ 'tap=atl0,ip=10.2.0.2/24' ]), created on a daemon of the test's own;
curl fetches index.html over the TAP, every byte. Destroying the domain lets
the TAP go: a second domain attaches to it and serves too. Skips (77) where
the privilege to create a namespace or a TAP device is missing.

    fleet_tap.py ATOLL HTTPD_DEMO SITE_INDEX
"""
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "boot", "net"))
from daemon_lib import check, curl, daemon_in, verdict, wait_for  # noqa: E402
from netns import make_tap, run_in_new_netns, tap_unavailable  # noqa: E402


def inside(exe, httpd, index_path):
    with open(index_path, "rb") as f:
        index = f.read()
    make_tap("atl0", "10.2.0.1/24")
    with tempfile.TemporaryDirectory() as tmp:
        atoll, log, daemon = daemon_in(tmp, exe)
        try:
            for name in ("tap-web", "tap-web-again"):
                r = atoll.create(tmp, name, httpd, ["tap=atl0,ip=10.2.0.2/24"])
                check(r.returncode == 0, f"create {name} on tap=atl0: {r.stderr.strip()}")
                wait_for(lambda: curl(80, host="10.2.0.2") is not None, f"{name} to answer over the TAP")
                check(curl(80, host="10.2.0.2") == index, f"curl over the TAP gets index.html from {name}")
                r = atoll.run("destroy", name)
                check(r.returncode == 0, f"destroy {name}: {r.stderr.strip()}")
        finally:
            daemon.kill()
            daemon.wait()
        log.seek(0)
        return verdict("fleet tap", log.read())


def main():
    if sys.argv[1] == "--inside":
        return inside(*sys.argv[2:5])
    why = tap_unavailable("curl")
    if why:
        print("SKIP: " + why)
        return 77
    return run_in_new_netns(__file__, "--inside", *(os.path.abspath(a) for a in sys.argv[1:4]))


if __name__ == "__main__":
    sys.exit(main())
