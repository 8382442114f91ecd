#!/usr/bin/env python3
"""TAP networking inside a network namespace the test creates: a TAP device
with 10.1.0.1/24 on the host side, the echo appliance on it as 10.1.0.2
(--net tap=NAME,ip=...), reached by TCP (1000 round trips with netbench and a
line through nc) and UDP. Skips (77) where the privilege to create a namespace
or a TAP device is missing.

usage: tap_test.py ATOLL ECHO_IMAGE NETBENCH"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps"))
from appliance import Appliance  # noqa: E402
from netns import make_tap, run_in_new_netns, tap_unavailable  # noqa: E402


def inside(atoll, echo, netbench):
    make_tap("atl0", "10.1.0.1/24")
    with Appliance(atoll, echo, ["--net", "tap=atl0,ip=10.1.0.2/24"], ready=r"echo: TCP and UDP port 7") as app:
        rr = subprocess.run([netbench, "rr", "10.1.0.2", "7", "1000"], capture_output=True, text=True, timeout=60)
        print(rr.stdout.strip())
        if rr.returncode != 0 or not rr.stdout.startswith("rr_us"):
            print("FAIL: TCP round trips over the TAP\n" + rr.stderr)
            return 1
        out = subprocess.run(["nc", "-N", "10.1.0.2", "7"], input=b"over the tap\n", capture_output=True,
                             timeout=10).stdout
        if out != b"over the tap\n":
            print(f"FAIL: nc echo over the TAP ({out!r})")
            return 1
        udp = subprocess.run([netbench, "udp", "10.1.0.2", "7", "1000"], capture_output=True, text=True, timeout=60)
        print(udp.stdout.strip())
        if udp.returncode != 0 or not udp.stdout.startswith("udp_pps"):
            print("FAIL: UDP over the TAP")
            return 1
        if not app.alive():
            print("FAIL: the appliance died")
            return 1
    print("tap: PASSED")
    return 0


def main():
    if sys.argv[1] == "--inside":
        return inside(*sys.argv[2:5])
    atoll, echo, netbench = sys.argv[1:4]
    why = tap_unavailable("nc")
    if why:
        print("SKIP: " + why)
        return 77
    return run_in_new_netns(__file__, "--inside", atoll, echo, netbench)


if __name__ == "__main__":
    sys.exit(main())
