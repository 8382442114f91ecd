#!/usr/bin/env python3
"""kvstore's memory count stays true under load over a TAP (named after the bug
it pins): lwIP's glue allocates with nothrow new, which the libOS served
itself while kvstore's counting delete freed it, so the count wrapped below
zero and every write got -OOM after some thousands of pipelined requests.
redis-benchmark's SET and GET must see no error, and INFO's
used_memory must stay under maxmemory. Runs inside its own network
namespace; skips where a TAP cannot be made.

usage: kvstore_tap_memory_test.py ATOLL KVSTORE_IMAGE"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "boot", "net"))
from netns import make_tap, run_in_new_netns, tap_unavailable  # noqa: E402
from appliance import Appliance  # noqa: E402


def info(field):
    out = subprocess.run(["redis-cli", "-h", "10.5.0.2", "info", "memory"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.startswith(field + ":"):
            return int(line.split(":")[1])
    return None


def inside(atoll, image):
    make_tap("atlm0", "10.5.0.1/24")
    with tempfile.NamedTemporaryFile() as disk:
        disk.truncate(64 << 20)
        with Appliance(atoll, image, ["-m", "128M", "--disk", disk.name, "--net", "tap=atlm0,ip=10.5.0.2/24"],
                       guest_args=["--aof", "off"], ready=r"listening on"):
            r = subprocess.run(["redis-benchmark", "-h", "10.5.0.2", "-n", "30000", "-c", "50",
                                "-t", "set,get", "-q", "-e"], capture_output=True, text=True, timeout=120)
            out = (r.stdout + r.stderr).replace("\r", "\n")
            errors = [line for line in out.splitlines() if "Error" in line or "OOM" in line]
            used, limit = info("used_memory"), info("maxmemory")
            print(f"redis-benchmark exit {r.returncode}, {len(errors)} error lines; used_memory {used}, maxmemory {limit}")
            if r.returncode != 0 or errors or used is None or limit is None or not used < limit:
                print("\n".join(errors[:5]) or out[-500:])
                return 1
    print("kvstore_tap_memory: PASSED")
    return 0


def main():
    if sys.argv[1] == "--inside":
        return inside(*sys.argv[2:4])
    atoll, image = sys.argv[1:3]
    why = tap_unavailable("redis-benchmark", "redis-cli")
    if why:
        print("SKIP: " + why)
        return 77
    return run_in_new_netns(__file__, "--inside", atoll, image)


if __name__ == "__main__":
    sys.exit(main())
