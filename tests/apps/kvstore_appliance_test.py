#!/usr/bin/env python3
"""The kvstore appliance, its append-only log on a raw disk, reached through
slirp's hostfwd: kvstore_test.py's protocol checks and redis-benchmark, then
durability: 1000 keys written with appendfsync always, the hypervisor killed
with SIGKILL (the guest dies with it), a fresh boot on the same disk has them
all; then the log's last record is torn on the disk image (as a crash
mid-write would leave it): the next boot reports the loss and keeps the rest.

usage: kvstore_appliance_test.py ATOLL KVSTORE_IMAGE"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

from appliance import Appliance, free_port
from kvstore_test import damage_log

HERE = os.path.dirname(os.path.abspath(__file__))


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=30).stdout


def main():
    atoll, image = sys.argv[1], sys.argv[2]
    if not shutil.which("redis-cli"):
        print("SKIP: redis-cli (redis-tools) is not installed")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, "kv.img")
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
        port = free_port()
        args = ["-m", "64M", "--disk", disk, "-p", f"{port}:6379"]
        with Appliance(atoll, image, args, ready=r"kvstore: listening") as app:
            r = subprocess.run([sys.executable, os.path.join(HERE, "kvstore_test.py"), "--host", "127.0.0.1",
                                "--port", str(port)])
            if r.returncode != 0:
                return r.returncode
        # Durability on a fresh disk, so DBSIZE counts only these keys.
        disk = os.path.join(tmp, "kv2.img")
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
        port = free_port()
        args = ["-m", "64M", "--disk", disk, "-p", f"{port}:6379"]
        with Appliance(atoll, image, args, guest_args=["--appendfsync", "always"], ready=r"kvstore: listening") as app:
            pipe = "".join(f"SET key:{i} value-{i}\r\n" for i in range(1000))
            out = subprocess.run(["redis-cli", "-p", str(port)], input=pipe, capture_output=True, text=True,
                                 timeout=60).stdout
            if out.count("OK") != 1000:
                print(f"FAIL: 1000 SETs acknowledged ({out.count('OK')})")
                return 1
            app.stop(signal.SIGKILL)
            print("PASS 1000 keys acknowledged with appendfsync always; hypervisor killed with SIGKILL")
        port = free_port()
        args = ["-m", "64M", "--disk", disk, "-p", f"{port}:6379"]
        with Appliance(atoll, image, args, ready=r"kvstore: listening") as app:
            n = cli(port, "DBSIZE").strip()
            sample = [cli(port, "GET", f"key:{i}").strip() for i in (0, 499, 999)]
            if n != "1000" or sample != ["value-0", "value-499", "value-999"]:
                print(f"FAIL: after the restart DBSIZE={n}, sample={sample}\n{app.output()}")
                return 1
            print("PASS all 1000 keys back after the restart")
            cli(port, "SET", "sentinel", "last")
            app.stop(signal.SIGKILL)
        want = damage_log(disk, "truncate")
        port = free_port()
        args = ["-m", "64M", "--disk", disk, "-p", f"{port}:6379"]
        with Appliance(atoll, image, args, ready=r"kvstore: listening") as app:
            n = cli(port, "DBSIZE").strip()
            sentinel = cli(port, "GET", "sentinel").strip()
            if want not in app.output() or n != "1000" or sentinel != "":
                print(f"FAIL: after a torn tail: want {want!r} in the console, DBSIZE={n}, sentinel={sentinel!r}\n"
                      + app.output())
                return 1
            print("PASS a torn last record is reported and dropped; the 1000 keys stay")
    return 0


if __name__ == "__main__":
    sys.exit(main())
