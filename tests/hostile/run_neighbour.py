#!/usr/bin/env python3
"""A hostile guest and a well-behaved neighbour on one `atoll daemon`.

usage: run_neighbour.py ATOLL ATTACKER_IMAGE NAME BYSTANDER_IMAGE [--attacker-disk]
                         [--net-neighbour HTTPD_DEMO NET_PROBE INDEX_HTML]
                         [--steady ROUNDS] [--log REGEX]...

The daemon serves every domain from one process and one event loop, so there
a guest that spins a backend, floods it or fills xenstore takes from every
other domain. This starts the daemon, creates the attacker (image
ATTACKER_IMAGE, which prints "NAME: attacking" once its attack runs and keeps
it up until the host writes its xenstore key data/stop), then, while it
attacks, creates the neighbour: blk_disk writing its pattern over a zeroed
16 MiB disk and reading it back. The run passes when

  * the neighbour ends with "blk_disk: PASSED" and its disk file holds the
    pattern byte for byte;
  * the attacker was still attacking when the neighbour ended (the two
    overlapped: no timing is assumed), then stops on data/stop and ends with
    "NAME: PASSED" (it checked what the hypervisor answered it);
  * the daemon is still running.

With --attacker-disk the attacker gets a 16 MiB disk of its own holding the
same pattern, which it only reads: the file must hold it unchanged after.

With --net-neighbour the attacker gets a vif on a switch of the daemon's
(rate-limited to 1 MB/s, so that netback takes part of each batch the
attacker pushes from its refill timer, while the attacker runs), and two more
neighbours join that switch while it attacks: httpd-demo, and a
client appliance (net_probe) that fetches index.html from it 100 times, each
on a new connection, checking every byte (length and FNV-1a hash). The run
then also needs "net_probe: PASSED" from the client, before the attack ends.

With --steady ROUNDS, once the neighbours have ended, the daemon must not
grow while the attacker goes on for ROUNDS more rounds: the attacker is held
between two rounds (data/pause, tests/hostile/host_control.h) twice, ROUNDS
apart, and both times the daemon's open descriptors and own threads are
counted and its own memory (RssAnon: guest memory is shared, RssShmem) read.
Descriptors and threads may not grow at all; memory by at most
RSS_SLACK_KIB (malloc keeps some of what it was given, in pages; a leak of
half a kilobyte a round shows over 500 rounds). Under AddressSanitizer (ASAN_OPTIONS set, as run_sanitized.py does)
memory is not compared: its quarantine holds freed memory on purpose, and
LeakSanitizer judges leaks there instead.

Each --log REGEX must match a line of the daemon's log (stderr): what the
hypervisor says when it refuses the attack.

Correctness only: the waits are bounded generously and time nothing.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "boot", "blk"))
from run_blk_test import SIZE, pattern_bytes  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "daemon"))
import daemon_lib  # noqa: E402
from daemon_lib import check, failures, fnv1a, open_fds, own_threads, status_field  # noqa: E402

RSS_SLACK_KIB = 256



class Daemon:
    def __init__(self, atoll, tmp):
        self.atoll = atoll
        self.env = dict(os.environ, ATOLL_SOCKET=os.path.join(tmp, "atoll.sock"))
        self.log_path = os.path.join(tmp, "daemon.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([atoll, "daemon", "--socket", self.env["ATOLL_SOCKET"]],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=self.env)
        self.wait_for(lambda: self.run("info").returncode == 0, "the daemon to answer")

    def wait_for(self, pred, what, timeout=300):
        """daemon_lib's, with the longer default a loaded attack needs; over
        at once, and failed, if the daemon has ended meanwhile."""
        daemon_lib.wait_for(lambda: self.proc.poll() is not None or pred(), what, timeout)
        return check(self.proc.poll() is None, f"the daemon is running (it ended with status "
                     f"{self.proc.returncode} while waiting for {what})")

    def run(self, *args):
        """`atoll ARGS` against this daemon; a failure, without waiting, once
        the daemon has ended (a client of a dead daemon may wait for ever)."""
        if self.proc.poll() is not None:
            return subprocess.CompletedProcess(args, 1, "", f"the daemon ended ({self.proc.returncode})")
        try:
            return subprocess.run([self.atoll] + list(args), capture_output=True, text=True, env=self.env, timeout=60)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 1, "", f"atoll {args[0]} timed out")

    def create(self, tmp, name, kernel, extra="", vifs=()):
        cfg = os.path.join(tmp, name + ".cfg")
        with open(cfg, "w") as f:
            f.write(f"name = '{name}'\nkernel = '{kernel}'\nmemory = 32\n"
                    f"vif = [ {', '.join(repr(v) for v in vifs)} ]\n{extra}")
        r = self.run("create", cfg)
        m = re.search(r"created: id (\d+)", r.stdout)
        check(r.returncode == 0 and m is not None, f"created {name}: {r.stdout.strip()} {r.stderr.strip()}")
        return int(m.group(1)) if m else None

    def history(self, name):
        r = self.run("log", name)
        return r.stdout if r.returncode == 0 else ""

    def running(self, name):
        r = self.run("list")
        return any(line.split()[:1] == [name] for line in r.stdout.splitlines()[1:])

    def text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=60)
        self.log.close()


def start_net_neighbours(daemon, tmp, lan, httpd, probe, index_path):
    """httpd-demo and a client appliance on the attacker's switch."""
    with open(index_path, "rb") as f:
        index = f.read()
    daemon.create(tmp, "web", os.path.abspath(httpd), vifs=[f"switch={lan},ip=10.80.0.1/24"])
    daemon.wait_for(lambda: "httpd: serving" in daemon.history("web"), "httpd on the switch to serve")
    args = f"args = [ 'http', '10.80.0.1', '80', '/index.html', '{len(index)}', '{fnv1a(index):08x}', 'times', '100' ]\n"
    daemon.create(tmp, "client", os.path.abspath(probe), args, vifs=[f"switch={lan},ip=10.80.0.2/24"])


def rounds_reached(history, name, what="round"):
    found = re.findall(rf"^{re.escape(name)}: {what} (\d+)$", history, re.M)
    return int(found[-1]) if found else -1


def sample(pid):
    """The daemon's descriptors, own threads and own memory, once two samples
    half a second apart agree on the first two."""
    last = None
    for _ in range(60):
        s = {"fds": open_fds(pid), "threads": own_threads(pid)[0], "anon_kib": status_field(pid, "RssAnon")}
        if last and (s["fds"], s["threads"]) == (last["fds"], last["threads"]):
            return s
        last = s
        time.sleep(0.5)
    return last


def paused_sample(daemon, attacker_id, name):
    """Holds the attacker between two rounds and samples the daemon there."""
    key = f"/local/domain/{attacker_id}/data/pause"
    before = rounds_reached(daemon.history(name), name, "paused at round")
    check(daemon.run("xenstore-write", key, "1").returncode == 0, f"asked {name} to pause")
    daemon.wait_for(lambda: rounds_reached(daemon.history(name), name, "paused at round") > before, f"{name} to pause")
    at = rounds_reached(daemon.history(name), name, "paused at round")
    s = sample(daemon.proc.pid)
    check(daemon.run("xenstore-write", key, "0").returncode == 0, f"asked {name} to go on")
    print(f"at round {at}: {s['fds']} descriptors, {s['threads']} threads, own memory {s['anon_kib']} KiB", flush=True)
    return at, s


def check_steady(daemon, attacker_id, name, rounds):
    first_round, first = paused_sample(daemon, attacker_id, name)
    daemon.wait_for(lambda: rounds_reached(daemon.history(name), name) >= first_round + rounds,
             f"{name} to run {rounds} more rounds", timeout=900)
    last_round, last = paused_sample(daemon, attacker_id, name)
    check(last_round - first_round >= rounds, f"{last_round - first_round} rounds between the samples")
    check(last["fds"] <= first["fds"], f"the daemon's descriptors did not grow: {first['fds']} -> {last['fds']}")
    check(last["threads"] <= first["threads"],
          f"the daemon's threads did not grow: {first['threads']} -> {last['threads']}")
    if "ASAN_OPTIONS" in os.environ:
        print("own memory not compared under AddressSanitizer (its quarantine keeps freed memory)")
    else:
        grew = last["anon_kib"] - first["anon_kib"]
        check(grew <= RSS_SLACK_KIB, f"the daemon's own memory grew {grew} KiB in {last_round - first_round} rounds "
              f"(at most {RSS_SLACK_KIB})")


def main():
    p = argparse.ArgumentParser()
    for a in ("atoll", "attacker", "name", "bystander"):
        p.add_argument(a)
    p.add_argument("--attacker-disk", action="store_true")
    p.add_argument("--net-neighbour", nargs=3, metavar=("HTTPD_DEMO", "NET_PROBE", "INDEX_HTML"))
    p.add_argument("--steady", type=int, metavar="ROUNDS")
    p.add_argument("--log", action="append", default=[], metavar="REGEX")
    a = p.parse_args()
    lan = f"hostile{os.getpid()}"
    atoll, name = a.atoll, a.name
    attacker, bystander = os.path.abspath(a.attacker), os.path.abspath(a.bystander)
    expected = pattern_bytes()
    with tempfile.TemporaryDirectory(prefix="atoll-hostile-") as tmp:
        daemon = Daemon(atoll, tmp)
        try:
            attacker_disk = os.path.join(tmp, "attacker.img")
            extra = ""
            if a.attacker_disk:
                with open(attacker_disk, "wb") as f:
                    f.write(expected)
                extra = f"disk = [ '{attacker_disk},raw,xvda,rw' ]\n"
            # Rate-limited: netback takes part of each batch the attacker
            # pushes later, from its refill timer, while the guest rewrites.
            attacker_vifs = [f"switch={lan},ip=10.80.0.3/24,rate=1MB/s@10ms"] if a.net_neighbour else []
            attacker_id = daemon.create(tmp, name, attacker, extra, attacker_vifs)
            daemon.wait_for(lambda: f"{name}: attacking" in daemon.history(name), f"{name} to start its attack")
            disk = os.path.join(tmp, "neighbour.img")
            with open(disk, "wb") as f:
                f.truncate(SIZE)
            daemon.create(tmp, "neighbour", bystander, f"disk = [ '{disk},raw,xvda,rw' ]\nargs = [ 'rw' ]\n")
            if a.net_neighbour:
                start_net_neighbours(daemon, tmp, lan, *a.net_neighbour)
            daemon.wait_for(lambda: not daemon.running("neighbour"), "the neighbour to end")
            if a.net_neighbour:
                daemon.wait_for(lambda: not daemon.running("client"), "the client appliance to end")
                h = daemon.history("client")
                check("net_probe: PASSED" in h and "100 GETs answered" in h,
                      f"the client appliance got index.html 100 times over the switch, every byte: {h[-300:]!r}")
            check("blk_disk: PASSED" in daemon.history("neighbour"), "the neighbour's disk test passed")
            with open(disk, "rb") as f:
                check(f.read() == expected, "the neighbour's disk holds its pattern byte for byte")
            check(daemon.running(name), f"{name} was still attacking when the neighbour ended")
            if a.steady and attacker_id is not None and daemon.proc.poll() is None:
                check_steady(daemon, attacker_id, name, a.steady)
            if attacker_id is not None:
                r = daemon.run("xenstore-write", f"/local/domain/{attacker_id}/data/stop", "1")
                check(r.returncode == 0, f"asked {name} to stop: {r.stderr.strip()}")
            daemon.wait_for(lambda: not daemon.running(name), f"{name} to end")
            history = daemon.history(name)
            # The attacker's own account (its rounds and what it was answered).
            print("\n".join(l for l in history.splitlines() if l.startswith(f"{name}: ")))
            check(f"{name}: PASSED" in history, f"{name} saw what it expected of the hypervisor")
            check(daemon.proc.poll() is None, "the daemon is still running")
            for pattern in a.log:
                check(re.search(pattern, daemon.text(), re.M), f"the daemon's log says /{pattern}/")
            if a.attacker_disk:
                with open(attacker_disk, "rb") as f:
                    check(f.read() == expected, f"{name}'s own disk still holds the pattern (it only read)")
        finally:
            if failures:
                print("--- attacker's log:\n" + daemon.history(name)[-4000:])
                print("--- neighbour's log:\n" + daemon.history("neighbour")[-4000:])
                if a.net_neighbour:
                    print("--- client's log:\n" + daemon.history("client")[-2000:])
                    print("--- web's log:\n" + daemon.history("web")[-2000:])
            daemon.stop()
            if failures:
                print("--- daemon's log (tail):\n" + daemon.text()[-4000:])
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
