#!/usr/bin/env python3
"""bench/fleet/ab_create.py: create -> guest main() on two daemons taking
turns, for a change to the create path whose effect is smaller than the
machine's drift between minutes.

    ab_create.py ATOLL_A ATOLL_B IMAGE [PAIRS]
    ab_create.py --burst N ATOLL_A ATOLL_B IMAGE [ROUNDS]

ATOLL_A and ATOLL_B are two `atoll` executables, each with its own
`atoll-loader` beside it (copy a build's hypervisor/atoll and
hypervisor/atoll-loader into a directory of its own). Each starts its own
daemon on a temporary socket; then PAIRS times (200), in a random order per
pair, one create of IMAGE over each daemon's socket, timed from just before
the connect to the guest's own main() stamp, and destroyed once listed.

Prints, for A and B: the median create -> main(), the ratio B/A of the
medians with a 95 % bootstrap interval, and the CPU time a domain cost
(the guest process's own, from /proc/PID/schedstat before its destroy, and
the daemon's over the run / PAIRS).

With --burst N, each round (ROUNDS, 3) sends N creates over each daemon's
socket in turn (32 in flight, as fleet_bench.py's burst), times them until
the last guest is in main(), takes the CPU time each domain cost, and
destroys them all; prints each side's rates and CPU per domain.
"""
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "daemon"))
from daemon_lib import Atoll, Protocol, cpu_ms, run_args, start_daemon  # noqa: E402


class Side:
    def __init__(self, exe, tmp, image):
        sock = os.path.join(tmp, "atoll.sock")
        self.image = image
        self.log = open(os.path.join(tmp, "daemon.log"), "w+")
        self.daemon = start_daemon(Atoll(exe, sock), sock, self.log)
        self.proto = Protocol(sock)
        self.serial = 0
        self.wall, self.guest_cpu = [], []
        self.daemon_cpu0 = cpu_ms(self.daemon.pid)

    def once(self):
        self.serial += 1
        name = f"ab-{self.serial}"
        t0 = time.monotonic_ns()
        a = self.proto.request("create", args=run_args(name, self.image))
        if not a.get("ok"):
            sys.exit(f"ab_create: create: {a}")
        for _ in range(1000):
            time.sleep(0.005)
            d = next((d for d in self.proto.domains() if d["name"] == name), None)
            if d and "main_ns" in d:
                break
        else:
            sys.exit(f"ab_create: {name} never reached main()")
        self.wall.append((d["main_ns"] - t0) / 1e6)
        self.guest_cpu.append(cpu_ms(d["pid"]))
        self.proto.request("destroy", domain=name)

    def burst(self, count):
        self.serial += 1
        names = [f"b{self.serial}-{i}" for i in range(count)]
        cpu0 = cpu_ms(self.daemon.pid)
        t0 = time.monotonic_ns()
        answers = self.proto.burst([{"verb": "create", "args": run_args(n, self.image)} for n in names])
        daemon_cpu = (cpu_ms(self.daemon.pid) - cpu0) / count
        if not all(a.get("ok") for a in answers):
            sys.exit(f"ab_create: the burst failed: {next(a for a in answers if not a.get('ok'))}")
        while True:
            listed = self.proto.domains()
            if sum("main_ns" in d for d in listed) >= count:
                break
            time.sleep(0.05)
        rate = count / ((max(d["main_ns"] for d in listed) - t0) / 1e9)
        guest_cpu = statistics.mean(cpu_ms(d["pid"]) for d in listed)
        self.proto.burst([{"verb": "destroy", "domain": n} for n in names])
        while self.proto.domains():
            time.sleep(0.05)
        return rate, daemon_cpu, guest_cpu

    def stop(self):
        self.daemon.terminate()
        self.daemon.wait(timeout=60)


def bursts(argv):
    count = int(argv[0])
    exe_a, exe_b, image = (os.path.abspath(p) for p in argv[1:4])
    rounds = int(argv[4]) if len(argv) > 4 else 3
    results = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as ta, tempfile.TemporaryDirectory() as tb:
        sides = {"A": Side(exe_a, ta, image), "B": Side(exe_b, tb, image)}
        try:
            time.sleep(1)  # the pools fill
            for r in range(rounds):
                for label in (("A", "B") if r % 2 == 0 else ("B", "A")):
                    results[label].append(sides[label].burst(count))
                    time.sleep(1)
        finally:
            for s in sides.values():
                s.stop()
    print(f"A {exe_a}\nB {exe_b}\nimage {image}, bursts of {count}, load {os.getloadavg()[0]:.2f}")
    for label, rs in results.items():
        print(f"{label}: " + "; ".join(f"{rate:.0f}/s (CPU a domain: daemon {d:.2f} ms, guest {g:.2f} ms)"
                                       for rate, d, g in rs))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--burst":
        return bursts(sys.argv[2:])
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    exe_a, exe_b, image = (os.path.abspath(p) for p in sys.argv[1:4])
    pairs = int(sys.argv[4]) if len(sys.argv) > 4 else 200
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as ta, tempfile.TemporaryDirectory() as tb:
        a, b = Side(exe_a, ta, image), Side(exe_b, tb, image)
        try:
            for _ in range(5):  # warm-ups, not counted
                a.once(), b.once()
            for s in (a, b):
                s.wall.clear(), s.guest_cpu.clear()
                s.daemon_cpu0 = cpu_ms(s.daemon.pid)
            for _ in range(pairs):
                first, second = (a, b) if rng.random() < 0.5 else (b, a)
                first.once()
                second.once()
            daemon_cpu = [(cpu_ms(s.daemon.pid) - s.daemon_cpu0) / pairs for s in (a, b)]
        finally:
            a.stop(), b.stop()
    med = statistics.median
    ratios = sorted(med([b.wall[i] for i in s]) / med([a.wall[i] for i in s])
                    for s in ([rng.randrange(pairs) for _ in range(pairs)] for _ in range(2000)))
    print(f"A {exe_a}\nB {exe_b}\nimage {image}, {pairs} pairs, load {os.getloadavg()[0]:.2f}")
    for label, s, dc in (("A", a, daemon_cpu[0]), ("B", b, daemon_cpu[1])):
        print(f"{label}: create -> main() median {med(s.wall):.3f} ms; CPU a domain: guest process "
              f"{statistics.mean(s.guest_cpu):.3f} ms, daemon {dc:.3f} ms (the daemon's includes the listing)")
    print(f"B/A create -> main(): {med(b.wall) / med(a.wall):.3f}x "
          f"(95 % interval {ratios[50]:.3f}-{ratios[1949]:.3f})")


if __name__ == "__main__":
    main()
