#!/usr/bin/env python3
"""Two appliances on one switch: the echo appliance and a client appliance,
each a separate `atoll run` with a static address on switch=NAME. The client
reaches the server by TCP and UDP (ARP, learning and forwarding all happen in
the switch process the first atoll started).

usage: switch_test.py ATOLL ECHO_IMAGE PROBE_IMAGE"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps"))
from appliance import Appliance  # noqa: E402


def main():
    atoll, echo, probe = sys.argv[1:4]
    lan = f"t{os.getpid()}"
    server_net = f"switch={lan},ip=10.77.0.1/24"
    with Appliance(atoll, echo, ["--net", server_net], ready=r"echo: TCP and UDP port 7") as server:
        r = subprocess.run([atoll, "run", probe, "--net", f"switch={lan},ip=10.77.0.2/24", "--", "tcp", "10.77.0.1",
                            "7"], capture_output=True, text=True, timeout=60)
        sys.stdout.write(r.stdout + r.stderr)
        if r.returncode != 0 or "net_probe: PASSED" not in r.stdout:
            sys.stderr.write(server.output())
            return 1
        if not server.alive():
            print("FAIL: the server appliance died")
            return 1
    print("switch: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
