#!/usr/bin/env python3
"""A hostile guest under `atoll run` alone, without a daemon, held to the
same steady state as run_neighbour.py --steady holds the daemon.

usage: run_alone.py ATOLL ATTACKER_IMAGE NAME --steady ROUNDS [--disk]
                    [--net SPEC] [--log REGEX]...

`atoll run` serves its one domain from a process of its own: the backends,
a private xenstore, and user networking (its vif's libslirp helper and the
splicer of published ports) instead of the daemon's switch. What an attack
leaks there shows in no daemon, so each case that runs on the daemon in
run_neighbour.py is checked here too. The attacker gets one user vif (--net
SPEC, default `user`; with --disk also a 16 MiB disk holding blk_disk's pattern, which it only reads)
and the xenstore socket is given to the host's xenstore-write, which holds
the attacker between two rounds (data/pause) twice, ROUNDS apart, and then
stops it (data/stop). The run passes when

  * at both pauses `atoll run`'s descriptors and own threads are the same and
    its own memory (RssAnon) grew by at most run_neighbour.RSS_SLACK_KIB;
  * the attacker stops on data/stop and ends with "NAME: PASSED", and
    `atoll run` exits 0 with it (its poweroff status);
  * each --log REGEX matches a line of `atoll run -v`'s stderr;
  * with --disk, the disk file still holds the pattern.

Correctness only: the waits are bounded generously and time nothing.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "boot", "blk"))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from daemon_lib import check, failures  # noqa: E402
from run_blk_test import pattern_bytes  # noqa: E402
from run_neighbour import check_steady  # noqa: E402

DOMID = 1  # `atoll run`'s one domain


class Alone:
    """`atoll run --no-daemon` of one domain, with what check_steady asks of
    run_neighbour's Daemon: its process, the guest's output, xenstore writes."""

    def __init__(self, atoll, tmp, image, name, disk, net):
        self.sock = os.path.join(tmp, "xs.sock")
        self.out = open(os.path.join(tmp, "console"), "w+")
        self.err = open(os.path.join(tmp, "stderr"), "w+")
        args = [atoll, "run", "--no-daemon", "-v", "--name", name, "--xenstore-socket", self.sock, "--net", net]
        if disk:
            args += ["--disk", disk]
        self.proc = subprocess.Popen(args + [image], stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err)

    def history(self, _name):
        self.out.seek(0)
        return self.out.read()

    def text(self):
        self.err.seek(0)
        return self.err.read()

    def run(self, verb, key, value):
        env = dict(os.environ, XENSTORED_PATH=self.sock)
        return subprocess.run([verb, key, value], env=env, capture_output=True, text=True, timeout=60)

    def wait_for(self, pred, what, timeout=300):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        check(pred(), f"{what} (atoll run {'exited ' + str(self.proc.returncode) if self.proc.poll() is not None else 'still running'})")
        return False


def main():
    p = argparse.ArgumentParser()
    for a in ("atoll", "attacker", "name"):
        p.add_argument(a)
    p.add_argument("--steady", type=int, metavar="ROUNDS", required=True)
    p.add_argument("--disk", action="store_true")
    p.add_argument("--net", default="user", metavar="SPEC")
    p.add_argument("--log", action="append", default=[], metavar="REGEX")
    a = p.parse_args()
    if not shutil.which("xenstore-write"):
        print("SKIP: xenstore-write (Debian's xenstore-utils) is not installed; it pauses and stops the attacker")
        return 77
    expected = pattern_bytes()
    with tempfile.TemporaryDirectory(prefix="atoll-hostile-alone-") as tmp:
        disk = None
        if a.disk:
            disk = os.path.join(tmp, "attacker.img")
            with open(disk, "wb") as f:
                f.write(expected)
        alone = Alone(a.atoll, tmp, os.path.abspath(a.attacker), a.name, disk, a.net)
        try:
            if alone.wait_for(lambda: f"{a.name}: attacking" in alone.history(a.name), f"{a.name} to start its attack"):
                check_steady(alone, DOMID, a.name, a.steady)
                r = alone.run("xenstore-write", f"/local/domain/{DOMID}/data/stop", "1")
                check(r.returncode == 0, f"asked {a.name} to stop: {r.stderr.strip()}")
            try:
                status = alone.proc.wait(timeout=300)
            except subprocess.TimeoutExpired:
                status = None
            check(status == 0, f"atoll run ended with the guest's poweroff, status 0 (got {status})")
            history = alone.history(a.name)
            print("\n".join(l for l in history.splitlines() if l.startswith(f"{a.name}: ")))
            check(f"{a.name}: PASSED" in history, f"{a.name} saw what it expected of the hypervisor")
            for pattern in a.log:
                check(re.search(pattern, alone.text(), re.M), f"atoll run's log says /{pattern}/")
            if disk:
                with open(disk, "rb") as f:
                    check(f.read() == expected, f"{a.name}'s disk still holds the pattern (it only read)")
        finally:
            if alone.proc.poll() is None:
                alone.proc.kill()
                alone.proc.wait()
            if failures:
                print("--- attacker's console:\n" + alone.history(a.name)[-4000:])
                print("--- atoll run's stderr (tail):\n" + alone.text()[-4000:])
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
