#!/usr/bin/env python3
"""bench/fleet: a fleet of domains on one `atoll daemon`, each figure beside its
native peer from the same run (bench/RESULTS.md, "A fleet on one host").

  1. create -> guest main(), with 1, 100 and 1,000 idle domains running:
     - over the daemon's socket: CLOCK_MONOTONIC just before connecting, to the
       guest's own main() stamp (its kernel writes the boot record; the guest's
       clock is the host's CLOCK_MONOTONIC through pvclock; the daemon lists
       it as main_ns);
     - the same through `atoll create CFG` (its exec included);
     - native: spawn-to-main, posix_spawn -> main() of a static child;
  2. end to end: `atoll create -c hello.cfg` (create, console until the guest
     powers off), `atoll run hello` (through the daemon, as it goes when one
     runs) and `atoll run --no-daemon hello`, against spawn+wait of the static
     native hello, all three spawned alike (Python's subprocess, stdin a pipe
     kept open, output to /dev/null) and taking turns, at the same three
     fleet sizes;
  3. the creation rate: 1,000 creates in a burst over the socket (32 in
     flight) into an empty daemon, until every guest has reached main();
  4. density: idle domains in bursts of 1,000 up to DENSITY (10,000), or to
     the first failure; host memory per domain (MemAvailable's drop, and the
     PSS of the daemon and every guest process), the daemon's descriptors per
     domain, every name read back from the store, then all shut down when
     told and counted out.

Prints a markdown table and notes on stdout; progress on stderr.

    fleet_bench.py BUILD_DIR [SAMPLES] [DENSITY]

FLEET_POOL=N starts the daemon with --sandbox-pool N (its default, 8, when
unset; 0 measures creates that spawn their own loader). FLEET_PARTS picks
parts (comma-separated: latency, burst, density; all when unset).
"""
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "daemon"))
from daemon_lib import (Atoll, Protocol, cpu_ms, failures, guests, loadavg, mem_available_kib, open_fds, pss_kib,  # noqa: E402
                        run_args, start_daemon, wait_for)

build = os.path.abspath(sys.argv[1])
SAMPLES = int(sys.argv[2]) if len(sys.argv) > 2 else 30
DENSITY = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
POOL = os.environ.get("FLEET_POOL")
PARTS = set(os.environ.get("FLEET_PARTS", "latency,burst,density").split(","))
atoll_exe = f"{build}/hypervisor/atoll"
idle = f"{build}/bench/fleet/idle"
hello = f"{build}/apps/hello/hello"
native_hello = f"{build}/bench/native-hello"
spawn_child = f"{build}/bench/spawn-child"
spawn_to_main = f"{build}/bench/spawn-to-main"

rows, notes = [], []


def say(*a):
    print("fleet_bench:", *a, file=sys.stderr, flush=True)


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def ms(values):
    return statistics.median(values) / 1e6


def verdict(ratio, goal):
    return "met" if ratio <= goal else "**missed**"


class Bench:
    def __init__(self, tmp):
        self.tmp = tmp
        sock = os.path.join(tmp, "atoll.sock")
        self.atoll = Atoll(atoll_exe, sock)
        self.proto = Protocol(sock)
        self.log_path = os.path.join(tmp, "daemon.log")
        self.log = open(self.log_path, "w+")
        self.daemon = start_daemon(self.atoll, sock, self.log, *(["--sandbox-pool", POOL] if POOL else []))
        self.serial = 0

    def fill(self, count, prefix="bg"):
        """Creates idle domains until `count` run, in bursts; returns when all reached main()."""
        have = len(self.proto.domains())
        names = [f"{prefix}-{i}" for i in range(have, count)]
        for start in range(0, len(names), 1000):
            chunk = names[start:start + 1000]
            answers = self.proto.burst([{"verb": "create", "args": run_args(n, idle)} for n in chunk])
            bad = [a for a in answers if not a.get("ok")]
            if bad:
                return bad[0].get("error", "?")
        wait_for(lambda: all("main_ns" in d for d in self.proto.domains()), "every idle domain to boot", timeout=600)
        return None

    def boot_record(self, name):
        """(started_ns, main_ns) of a running domain, once its guest has reached main()."""
        for _ in range(400):
            time.sleep(0.01)  # after the boot, not during it: a list of 1,000 domains costs the daemon CPU
            d = next((d for d in self.proto.domains() if d["name"] == name), None)
            if d and "main_ns" in d:
                return d["started_ns"], d["main_ns"]
        raise SystemExit(f"fleet_bench: {name} never reached main()")

    def create_to_main(self, via_cli):
        self.serial += 1
        name = f"probe-{self.serial}"
        if via_cli:
            cfg = os.path.join(self.tmp, "probe.cfg")
            with open(cfg, "w") as f:
                f.write(f"name = '{name}'\nkernel = '{idle}'\nmemory = 16\nvif = []\n")
            t0 = now_ns()
            r = subprocess.run([atoll_exe, "create", cfg], env=self.atoll.env, capture_output=True, text=True)
            if r.returncode:
                raise SystemExit(f"fleet_bench: atoll create: {r.stderr}")
        else:
            t0 = now_ns()
            a = self.proto.request("create", args=run_args(name, idle))
            if not a.get("ok"):
                raise SystemExit(f"fleet_bench: create: {a}")
        started, main = self.boot_record(name)
        self.proto.request("destroy", domain=name)
        return main - t0, main - started

    def end_to_end(self, command):
        """From spawning `command` to reaping it, its console open (stdin a pipe
        that stays open: at the end of its input `create -c` would detach)."""
        t0 = now_ns()
        p = subprocess.Popen(command, env=self.atoll.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        if p.wait() != 0:
            raise SystemExit(f"fleet_bench: {' '.join(command)} exited {p.returncode}")
        t = now_ns() - t0
        p.stdin.close()
        return t

    def native_spawn_to_main(self, runs):
        out = subprocess.run([spawn_to_main, spawn_child, str(runs)], capture_output=True, text=True, check=True).stdout
        return [float(line.split()[2]) * 1e6 for line in out.splitlines() if line.startswith("main() at ")]

    def latency_round(self, running):
        say(f"create -> main() with {running} domains running ({SAMPLES} each side, interleaved)...")
        sock, cli, daemon_side, native = [], [], [], []
        for _ in range(SAMPLES // 10):
            for _ in range(10):
                s, d = self.create_to_main(via_cli=False)
                sock.append(s)
                daemon_side.append(d)
                cli.append(self.create_to_main(via_cli=True)[0])
            native += self.native_spawn_to_main(10)
        n = ms(native)
        for label, values in (("over the socket", sock), ("through `atoll create CFG`", cli)):
            r = ms(values) / n
            rows.append(f"| create → guest main() {label}, {running} running, vs posix_spawn → main() "
                        f"(median of {len(values)}) | {ms(values):.3f} ms | {n:.3f} ms | {r:.2f}× | ≤ 1.0× | {verdict(r, 1.0)} |")
        notes.append(f"{running} running: inside the daemon (start of Domain::try_create -> main()) "
                     f"{ms(daemon_side):.3f} ms median; socket p90 {sorted(sock)[len(sock) * 9 // 10] / 1e6:.3f} ms")
        self.results.setdefault("create", {})[running] = ms(sock)

        say(f"end to end with {running} domains running...")
        cfg = os.path.join(self.tmp, "hello.cfg")
        with open(cfg, "w") as f:
            f.write(f"name = 'e2e-hello'\nkernel = '{hello}'\nmemory = 16\nvif = []\n")
        commands = [[atoll_exe, "create", "-c", cfg], [atoll_exe, "run", "--net", "none", hello], [native_hello],
                    [atoll_exe, "info"],  # the CLI's own exec and one round trip to the daemon: the floor of create -c
                    [atoll_exe, "run", "--no-daemon", "--net", "none", hello]]
        times = [[] for _ in commands]
        for i in range(3 + SAMPLES):  # 3 warm-ups; the three commands take turns
            for k, command in enumerate(commands):
                t = self.end_to_end(command)
                if i >= 3:
                    times[k].append(t)
        res = [ms(t) for t in times]
        for label, value in (("`atoll create -c hello.cfg` (daemon)", res[0]), ("`atoll run hello` (through the daemon)", res[1]),
                             ("`atoll run --no-daemon hello` (foreground)", res[4])):
            r = value / res[2]
            rows.append(f"| end to end: {label}, {running} running, vs posix_spawn+wait of static hello "
                        f"(median of {SAMPLES}) | {value:.3f} ms | {res[2]:.3f} ms | {r:.2f}× | ≤ 1.5× | {verdict(r, 1.5)} |")
        notes.append(f"{running} running: `atoll info` (the CLI's exec and one request) takes {res[3]:.3f} ms median, "
                     f"{res[3] / res[2]:.2f}× the native hello")
        self.results.setdefault("e2e", {})[running] = res[0]

    def burst_rate(self, count):
        say(f"creation rate: {count} creates in a burst...")
        daemon_cpu0 = cpu_ms(self.daemon.pid)
        t0 = now_ns()
        answers = self.proto.burst([{"verb": "create", "args": run_args(f"burst-{i}", idle)} for i in range(count)])
        replied = now_ns()
        daemon_cpu1 = cpu_ms(self.daemon.pid)  # before the polling below, which costs the daemon too
        bad = [a for a in answers if not a.get("ok")]
        if bad:
            raise SystemExit(f"fleet_bench: the burst failed: {bad[0]}")
        wait_for(lambda: sum("main_ns" in d for d in self.proto.domains()) >= count, "the burst to boot", timeout=600)
        listed = [d for d in self.proto.domains() if d["name"].startswith("burst-")]
        last_main = max(d["main_ns"] for d in listed)
        # CPU time is what the load of others on the machine does not change:
        # the daemon's share of each create, and each guest's own boot.
        daemon_cpu = (daemon_cpu1 - daemon_cpu0) / count
        guest_cpu = sum(cpu_ms(d["pid"]) for d in listed) / len(listed)
        rate = count / ((last_main - t0) / 1e9)
        rows.append(f"| creation rate: {count} creates in a burst (32 in flight), until every guest is in main() "
                    f"| {rate:.0f} /s | — | — | ≥ 500/s | {'met' if rate >= 500 else '**missed**'} |")
        notes.append(f"burst: all {count} creates answered after {(replied - t0) / 1e9:.3f} s "
                     f"({count / ((replied - t0) / 1e9):.0f}/s), the last guest in main() after {(last_main - t0) / 1e9:.3f} s; "
                     f"CPU per domain: the daemon {daemon_cpu:.2f} ms, the guest process (loader exec and boot) "
                     f"{guest_cpu:.2f} ms, so at most {2000 / (daemon_cpu + guest_cpu):.0f}/s on two idle vCPUs and "
                     f"{1000 / daemon_cpu:.0f}/s while the daemon's one thread is the bottleneck")

    def density(self, target):
        say(f"density: up to {target} idle domains...")
        self.destroy_all()
        fds0, mem0 = open_fds(self.daemon.pid), mem_available_kib()
        pss0 = pss_kib(self.daemon.pid)
        t0 = now_ns()
        error = None
        for step in range(1000, target + 1000, 1000):
            error = self.fill(min(step, target), prefix="dense")
            say(f"  {len(self.proto.domains())} running, load {loadavg()}, MemAvailable {mem_available_kib() // 1024} MiB")
            if error:
                break
        t_fill = (now_ns() - t0) / 1e9
        domains = self.proto.domains()
        n = len(domains)
        booted = sum("main_ns" in d for d in domains)
        sealed = guests(self.daemon.pid)
        fds = open_fds(self.daemon.pid)
        mem_kib = (mem0 - mem_available_kib()) / n
        pss_daemon = pss_kib(self.daemon.pid) - pss0
        pss_guests = sum(pss_kib(p) for p in sealed)
        say(f"  reading {n} names back...")
        listing = subprocess.run(["xenstore-ls", "/local/domain"], capture_output=True, text=True,
                                 env=dict(os.environ, XENSTORED_PATH=self.xs_path)).stdout
        names_ok = sum(f'name = "{d["name"]}"' in listing for d in domains)
        sample = random.sample(domains, min(100, n))
        reads_ok = sum(subprocess.run(["xenstore-read", f"/local/domain/{d['id']}/name"], capture_output=True, text=True,
                                      env=dict(os.environ, XENSTORED_PATH=self.xs_path)).stdout.strip() == d["name"]
                       for d in sample)
        say(f"  shutting {n} down...")
        t1 = now_ns()
        ended_before = self.ended_lines()
        answers = self.proto.burst([{"verb": "shutdown", "domain": d["name"]} for d in domains])
        wait_for(lambda: not self.proto.domains(), "every dense domain to power off", timeout=900)
        powered_off = self.ended_lines() - ended_before
        t_down = (now_ns() - t1) / 1e9
        rows.append(f"| density: idle domains running at once (16 MiB each, no vif) | {n} | — | — | ≥ 10,000 | "
                    f"{'met' if n >= 10000 and powered_off == n and names_ok == n else '**missed**'} |")
        rows.append(f"| host memory per idle domain (MemAvailable drop / domains) | {mem_kib:.0f} KiB | — | — | — | — |")
        notes.append(f"density: {n} domains created in {t_fill:.1f} s, {booted} in main(); "
                     + (f"stopped at the first failure: {error}; " if error else f"stopped at the target ({target}); ")
                     + f"{len(sealed)} guest processes; the daemon holds {fds} fds ({(fds - fds0) / n:.2f} per domain), "
                     f"limit {self.fd_limit()}")
        notes.append(f"density memory per domain: MemAvailable drop {mem_kib:.0f} KiB; PSS of its guest process "
                     f"{pss_guests / n:.0f} KiB + its share of the daemon's PSS growth {pss_daemon / n:.0f} KiB "
                     f"= {(pss_guests + pss_daemon) / n:.0f} KiB (the rest is kernel: page tables, task, memfd pages)")
        notes.append(f"density checks: xenstore-ls shows {names_ok} of {n} names; Debian's xenstore-read of "
                     f"{len(sample)} random names: {reads_ok} right; shutdown accepted for "
                     f"{sum(a.get('ok', False) for a in answers)}, {powered_off} logged `poweroff (status 0)`, "
                     f"all gone after {t_down:.1f} s")

    def ended_lines(self):
        self.log.flush()
        with open(self.log_path) as f:
            return sum("ended: poweroff (status 0)" in line for line in f)

    def fd_limit(self):
        with open(f"/proc/{self.daemon.pid}/limits") as f:
            return next((line.split()[3] for line in f if line.startswith("Max open files")), "?")

    def destroy_all(self):
        names = [d["name"] for d in self.proto.domains()]
        self.proto.burst([{"verb": "destroy", "domain": n} for n in names])
        wait_for(lambda: not self.proto.domains(), "every domain to be destroyed", timeout=600)

    def fleet_size_effect(self, running):
        """create -> main() on a daemon with `running` idle domains against a
        second daemon with one, taking turns, so both see the same load."""
        say(f"create -> main() on two daemons taking turns: {running} running against 1...")
        with tempfile.TemporaryDirectory() as tmp2:
            small = Bench(tmp2)
            try:
                small.fill(1)
                big, one = [], []
                for _ in range(SAMPLES):
                    big.append(self.create_to_main(via_cli=False)[0])
                    one.append(small.create_to_main(via_cli=False)[0])
            finally:
                small.stop()
        r = ms(big) / ms(one)
        rows.append(f"| create → main() over the socket, {running:,} running against 1 running (two daemons taking "
                    f"turns, median of {SAMPLES}) | {ms(big):.3f} ms | {ms(one):.3f} ms | {r:.2f}× | ≤ 1.2× | {verdict(r, 1.2)} |")

    def run(self):
        self.results = {}
        self.xs_path = self.proto.request("info")["xenstore_socket"]
        notes.append(f"the daemon's --sandbox-pool: {POOL or 'its default (8)'}")
        if "latency" in PARTS:
            for running in (1, 100):
                error = self.fill(running)
                if error:
                    raise SystemExit(f"fleet_bench: cannot fill to {running}: {error}")
                self.latency_round(running)
            self.destroy_all()
        if "burst" in PARTS:
            self.burst_rate(1000)
        if "latency" in PARTS:
            if "burst" not in PARTS:
                self.fill(1000)
            self.latency_round(1000)
            self.fleet_size_effect(1000)
            c, e = self.results["create"], self.results["e2e"]
            for what, v in (("create → main() over the socket", c), ("end to end `atoll create -c`", e)):
                r = v[1000] / v[1]
                rows.append(f"| {what}: 1,000 running against 1 running | {v[1000]:.3f} ms | {v[1]:.3f} ms | {r:.2f}× "
                            f"| ≤ 1.2× | {verdict(r, 1.2)} |")
        if "density" in PARTS:
            self.destroy_all()
            self.density(DENSITY)

    def stop(self):
        """Ends the daemon (and with it every domain), whatever happened."""
        self.daemon.terminate()
        self.daemon.wait(timeout=300)


def main():
    for f in (atoll_exe, idle, hello, native_hello, spawn_child, spawn_to_main):
        if not os.access(f, os.X_OK):
            raise SystemExit(f"fleet_bench: missing {f}; build it with ninja -C {build}")
    notes.append(f"load average at start {loadavg()}; {os.cpu_count()} vCPUs")
    with tempfile.TemporaryDirectory() as tmp:
        bench = Bench(tmp)
        try:
            bench.run()
        finally:
            bench.stop()
    notes.append(f"load average at end {loadavg()}")
    if failures:
        notes.append(f"harness complaints: {failures}")
    print("| benchmark | Atoll | native peer | ratio | goal | verdict |")
    print("|---|---:|---:|---:|---|---|")
    print("\n".join(rows))
    print()
    print("\n".join(f"- {n}" for n in notes))


if __name__ == "__main__":
    main()
