#!/usr/bin/env python3
"""The kvstore appliance's data types with real clients: redis-benchmark's
whole default suite (strings, lists with LRANGE_600, hashes, sets, sorted
sets, MSET) runs to its end without one error reply; then every type is
written with appendfsync always, the hypervisor killed with SIGKILL, and a
boot on the same disk reads every value back from the log.

usage: kvstore_types_test.py ATOLL KVSTORE_IMAGE"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

from appliance import Appliance, free_port
from kvstore_appliance_test import cli

WRITES = [
    ["RPUSH", "list", "a", "b", "c"], ["LPUSH", "list", "z"],
    ["HSET", "hash", "f", "1", "g", "two"], ["HINCRBY", "hash", "f", "41"],
    ["SADD", "set", "x", "y"], ["ZADD", "zset", "1.5", "a", "-2", "b"],
    ["SET", "str", "hello"], ["EXPIRE", "hash", "100000"],
]
READS = [  # command, the reply redis-cli prints (sets and hashes sorted)
    (["LRANGE", "list", "0", "-1"], "z\na\nb\nc"), (["HGETALL", "hash"], "42\nf\ng\ntwo"),
    (["SMEMBERS", "set"], "x\ny"), (["ZRANGE", "zset", "0", "-1", "WITHSCORES"], "b\n-2\na\n1.5"),
    (["GET", "str"], "hello"), (["TYPE", "zset"], "zset"),
]


def boot(atoll, image, disk, guest_args=()):
    port = free_port()
    return Appliance(atoll, image, ["--disk", disk, "-p", f"{port}:6379"], guest_args=list(guest_args),
                     ready=r"kvstore: listening"), port


def main():
    atoll, image = sys.argv[1], sys.argv[2]
    if not shutil.which("redis-benchmark"):
        print("SKIP: redis-benchmark (redis-tools) is not installed")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, "kv.img")
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
        app, port = boot(atoll, image, disk, ["--appendfsync", "always"])
        with app:
            r = subprocess.run(["redis-benchmark", "-p", str(port), "-n", "2000", "-c", "10", "-q", "-e"],
                               capture_output=True, text=True, timeout=240)
            out = r.stdout.replace("\r", "\n")
            tests = [line.split(":")[0] for line in out.splitlines() if "requests per second" in line]
            errors = [line for line in out.splitlines() if "ERR" in line or "WRONGTYPE" in line]
            if r.returncode != 0 or errors or len(tests) < 20 or "MSET (10 keys)" not in tests:
                print(f"FAIL: redis-benchmark: rc {r.returncode}, {len(tests)} tests, errors {errors[:3]}\n{out[-2000:]}")
                return 1
            print(f"PASS redis-benchmark's default suite: {len(tests)} tests, no error reply")
            cli(port, "FLUSHALL")
            for w in WRITES:
                cli(port, *w)
            app.stop(signal.SIGKILL)
        app, port = boot(atoll, image, disk)
        with app:
            for cmd, want in READS:
                got = "\n".join(sorted(cli(port, *cmd).split())) if cmd[0] in ("HGETALL", "SMEMBERS") else cli(port, *cmd).strip()
                if got != want:
                    print(f"FAIL: after the restart {' '.join(cmd)} gave {got!r}, want {want!r}\n{app.output()}")
                    return 1
            ttl = int(cli(port, "TTL", "hash"))
            if not 0 < ttl <= 100000:
                print(f"FAIL: the hash's TTL after the restart is {ttl}")
                return 1
        print("PASS every type (and a TTL on a hash) back from the log after SIGKILL and a new boot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
