#!/usr/bin/env python3
"""The hostile netfront image (net_hostile.cpp) over a TAP instead of slirp:
there netback offers GSO and reads a GSO packet's payload in place from the
guest's pages, a different path from the copy slirp gets. The TAP's host side
is 10.0.2.2/24, the address the image asks for, so the host kernel answers its
ARP requests as slirp would. Skips (77) where the privilege to create a
namespace or a TAP device is missing.

usage: hostile_tap_test.py RUNNER ATOLL IMAGE"""

import os
import subprocess
import sys
from netns import make_tap, run_in_new_netns, tap_unavailable


def inside(runner, atoll, image):
    make_tap("atl0", "10.0.2.2/24")
    return subprocess.run([sys.executable, runner, atoll, image, "--atoll-arg=--net",
                           "--atoll-arg=tap=atl0,ip=10.0.2.15/24", "--timeout", "50",
                           "--stdout", "net_hostile: PASSED",
                           "--stderr", "vif 0: the frontend overran the tx ring; disconnecting the vif"]).returncode


def main():
    if sys.argv[1] == "--inside":
        return inside(*sys.argv[2:5])
    runner, atoll, image = sys.argv[1:4]
    why = tap_unavailable()
    if why:
        print("SKIP: " + why)
        return 77
    return run_in_new_netns(__file__, "--inside", os.path.abspath(runner), atoll, image)


if __name__ == "__main__":
    sys.exit(main())
