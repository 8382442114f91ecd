#!/usr/bin/env python3
"""bench/soak/fleet_soak.py: many domains on one `atoll daemon` under mixed
real traffic for a given time, the daemon's descriptors, memory and threads
sampled all along and required flat (issue 16's many-domain soak).

The fleet, all on one daemon of its own (its own socket):
  * WEB httpd-demo appliances with user networking, each published on a host
    port (`-p`), served by curl (every body checked: length and FNV-1a), ab
    and wrk;
  * KV kvstore appliances with user networking and their append-only log on a
    disk file each, served by redis-cli (every value written is read back) and
    redis-benchmark;
  * LAN httpd-demo appliances on one of the daemon's switches, fetched from by
    client appliances (net_probe http, checking every byte) that the churn
    creates on the same switch and destroys;
  * IDLE idle appliances that stay, and the churn's idle ones, created and
    destroyed without end.

Three loops run at once until DURATION seconds have passed: the web clients,
the kv clients, and the churn (a probe and an idle domain created, the
probe's fetch checked, both destroyed). A sampler notes every SAMPLE seconds
the daemon's open descriptors, RSS and threads, its mappings of guest
memory, its guest processes (sealed atoll-loaders), its helpers
(atoll-slirp) and its pooled loaders. RSS is sampled whole (VmRSS) and in
its two parts: the daemon's own memory (RssAnon: its heap and stacks) and
the guests' pages it has touched through its mappings of their memory
(RssShmem: grant copies and the rings fault guest pages into the daemon's
view of them; they are the guests' memory, counted once by the host, and
grow as backends touch pages they had not touched before, up to the guests'
sizes). The first hour-long run showed VmRSS rising several MiB a minute while
RssAnon stayed flat: all of it RssShmem. So the own part is the one
required flat.

What is asserted (exit 1 on any), never a time:
  * every request succeeded: curl's bodies byte for byte, ab's and wrk's
    counts (no failed, non-2xx or socket-error request), redis-cli's reads
    equal to what was written, redis-benchmark's exit status and no error
    reply, every probe's "net_probe: PASSED"; a request that failed is
    counted and reported, never retried;
  * flat: the baseline is taken after the warm-up (the fleet up, one round of
    every client and of the churn done, no churn domain left), the last
    sample the same way after the loops stop, each once the daemon is quiet
    (its pool of loaders started ahead refilled: the same two seconds
    running). Descriptors, the daemon's own threads (not io_uring's io-wq
    workers, which the kernel starts for blocking ring operations and ends
    when idle: the first hour ended with one thread more than its baseline,
    and the daemon's only threads besides its own are these), guest
    processes, helpers and pooled
    loaders, and the mappings of guest memory (two a domain), must equal the
    baseline's exactly; the daemon's own RSS may grow by at most
    max(8 MiB, 10 %) of the baseline (malloc keeps freed memory for reuse, and
    the console histories fill up to their bound); the report says what that
    allowance is per request served and per domain churned, the smallest
    leak of each the check catches;
  * nothing leaked when all stop: every domain destroyed, no guest and no
    helper process left, the daemon's descriptors and threads what they were
    before the first domain, and SIGTERM
    ends it with status 0 and no process of it left behind.

    fleet_soak.py ATOLL HTTPD_DEMO KVSTORE NET_PROBE IDLE SITE_INDEX DURATION
                  [--web N] [--kv N] [--lan N] [--idle N] [--sample S]

The test suite runs it small (`soak-fleet`, about two minutes); the figures
in bench/RESULTS.md and docs/security.md are the hour-long form:
    nice -n 19 bench/soak/fleet_soak.py ... 3600 --web 40 --kv 30 --lan 30 --idle 60 --sample 30
"""
import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "daemon"))
from daemon_lib import (Protocol, check, children, comm, daemon_in, fnv1a, guests, loadavg, open_fds, own_threads,  # noqa: E402
                        pooled, status_field, stop_daemon, verdict, wait_for)

RSS_SLACK_KIB, RSS_SLACK_FRACTION = 8 << 10, 0.10
LAN_NET = "10.91.0"


def say(*a):
    print("fleet_soak:", *a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def helpers(pid):
    return [p for p in children(pid) if comm(p) == "atoll-slirp"]


def guest_maps(pid):
    """The daemon's mappings of guest memory (two memfds a domain: its RAM and
    the frames the hypervisor owns)."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            return sum("/memfd:atoll-" in line for line in f)
    except OSError:
        return -1


def sample(pid):
    return {"t": time.time(), "fds": open_fds(pid), "rss_kib": status_field(pid, "VmRSS"),
            "anon_kib": status_field(pid, "RssAnon"), "shmem_kib": status_field(pid, "RssShmem"),
            "threads": own_threads(pid)[0], "io_workers": own_threads(pid)[1], "maps": guest_maps(pid),
            "guests": len(guests(pid)),
            "helpers": len(helpers(pid)), "pooled": len(pooled(pid)), "load": loadavg()}


def settled(pid):
    """A sample once the daemon is quiet: its pooled loaders (refilled by a
    timer after each create) and descriptors the same two seconds running."""
    last = sample(pid)
    for _ in range(60):
        time.sleep(1)
        s = sample(pid)
        if (s["pooled"], s["fds"], s["threads"]) == (last["pooled"], last["fds"], last["threads"]):
            return s
        last = s
    return last


def fmt(s):
    return (f"fds {s['fds']} rss {s['rss_kib'] // 1024} MiB (own {s['anon_kib'] // 1024}, guests' "
            f"{s['shmem_kib'] // 1024}) threads {s['threads']} (+{s['io_workers']} io-wq) maps {s['maps']} guests {s['guests']} "
            f"helpers {s['helpers']} pooled {s['pooled']} load {s['load']}")


class Counts:
    """Requests served and failed, per client, from every loop."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ok, self.failed, self.first_failures = {}, {}, []

    def add(self, what, ok, failed=0, why=""):
        with self.lock:
            self.ok[what] = self.ok.get(what, 0) + ok
            self.failed[what] = self.failed.get(what, 0) + failed
            if failed and len(self.first_failures) < 20:
                self.first_failures.append(f"{what}: {why}")

    def total(self):
        return sum(self.ok.values()), sum(self.failed.values())


def run(cmd, timeout=300):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        return subprocess.CompletedProcess(cmd, -1, e.stdout or "", f"timed out after {timeout} s")


class Fleet:
    def __init__(self, proto, tmp, images, index, opts):
        self.proto, self.tmp, self.images, self.index, self.opts = proto, tmp, images, index, opts
        self.web_ports, self.kv_ports = [], []
        self.counts = Counts()
        self.stop = threading.Event()
        self.churned = 0

    def create(self, requests, what):
        for i in range(0, len(requests), 50):
            answers = self.proto.burst(requests[i:i + 50], window=8)
            bad = [a for a in answers if not a.get("ok")]
            if not check(not bad, f"create {what}: {len(bad)} refused, first: {bad[0].get('error') if bad else ''}"):
                return False
        return True

    def console(self, name):
        return self.proto.request("log", domain=name).get("console", "")

    def up(self):
        o, im = self.opts, self.images
        reqs = []
        for i in range(o.web):
            port = free_port()
            self.web_ports.append(port)
            reqs.append({"verb": "create", "args": ["--name", f"web-{i}", "-p", f"{port}:80", im["httpd"], "--", "--quiet"]})
        for i in range(o.kv):
            port = free_port()
            self.kv_ports.append(port)
            disk = os.path.join(self.tmp, f"kv-{i}.img")
            with open(disk, "wb") as f:
                f.truncate(16 << 20)
            reqs.append({"verb": "create", "args": ["--name", f"kv-{i}", "--memory", "32768K", "--disk", disk, "-p",
                                                    f"{port}:6379", im["kvstore"]]})
        for i in range(o.lan):
            reqs.append({"verb": "create", "args": ["--name", f"lan-{i}", "--net", f"switch=soak,ip={LAN_NET}.{i + 1}/24",
                                                    im["httpd"], "--", "--quiet"]})
        for i in range(o.idle):
            reqs.append({"verb": "create", "args": ["--name", f"idle-{i}", "--net", "none", im["idle"]]})
        if not self.create(reqs, "the fleet"):
            return False
        ready = {**{f"web-{i}": "httpd: serving" for i in range(o.web)},
                 **{f"kv-{i}": "kvstore: listening" for i in range(o.kv)},
                 **{f"lan-{i}": "httpd: serving" for i in range(o.lan)},
                 **{f"idle-{i}": "idle: ready" for i in range(o.idle)}}
        waiting = dict(ready)

        def all_ready():
            for name, marker in list(waiting.items()):
                if marker in self.console(name):
                    del waiting[name]
            return not waiting

        return wait_for(all_ready, f"all {len(ready)} domains to be ready", timeout=max(300, 3 * len(ready)))

    # The web clients: one round is a curl of every appliance, then ab on one
    # and wrk on another (each round the next ones).
    def web_round(self, n):
        want_len, want_hash = len(self.index), fnv1a(self.index)
        for port in self.web_ports:
            r = subprocess.run(["curl", "-s", "--max-time", "300", f"http://127.0.0.1:{port}/index.html"],
                               capture_output=True, timeout=300)
            good = r.returncode == 0 and len(r.stdout) == want_len and fnv1a(r.stdout) == want_hash
            self.counts.add("curl", int(good), int(not good), f"port {port}: curl {r.returncode}, {len(r.stdout)} bytes")
        if not self.web_ports:
            return
        port = self.web_ports[n % len(self.web_ports)]
        r = run(["ab", "-q", "-n", "500", "-c", "4", "-s", "300", f"http://127.0.0.1:{port}/index.html"])
        done = re.search(r"Complete requests:\s+(\d+)", r.stdout)
        failed = re.search(r"Failed requests:\s+(\d+)", r.stdout)
        non2xx = re.search(r"Non-2xx responses:\s+(\d+)", r.stdout)
        bad = (int(failed.group(1)) if failed else 500) + (int(non2xx.group(1)) if non2xx else 0)
        good = int(done.group(1)) - bad if done and r.returncode == 0 else 0
        self.counts.add("ab", good, 500 - good, f"port {port}: ab {r.returncode} {r.stdout[-300:]} {r.stderr[-200:]}")
        port = self.web_ports[(n + 1) % len(self.web_ports)]
        r = run(["wrk", "-t1", "-c4", "-d3s", "--timeout", "120s", f"http://127.0.0.1:{port}/index.html"])
        served = re.search(r"(\d+) requests in", r.stdout)
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", r.stdout)
        non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", r.stdout)
        bad = (sum(int(g) for g in errors.groups()) if errors else 0) + (int(non2xx.group(1)) if non2xx else 0)
        if r.returncode != 0 or not served:
            bad = max(bad, 1)
        total = int(served.group(1)) if served else 0
        self.counts.add("wrk", max(0, total - bad), bad, f"port {port}: wrk {r.returncode} {r.stdout[-300:]}")

    # The kv clients: a SET and its GET on every appliance (the value read back
    # must be the one written), then redis-benchmark on one.
    def kv_round(self, n):
        for i, port in enumerate(self.kv_ports):
            key, value = f"soak:{n}:{i}", f"v{n}-{i}-{os.getpid()}"
            w = run(["redis-cli", "-p", str(port), "SET", key, value], timeout=300)
            r = run(["redis-cli", "-p", str(port), "GET", key], timeout=300)
            good = w.returncode == 0 and w.stdout.strip() == "OK" and r.returncode == 0 and r.stdout.strip() == value
            self.counts.add("redis-cli", 2 * good, 2 * (not good),
                            f"port {port}: SET {w.stdout.strip()!r} GET {r.stdout.strip()!r} {w.stderr.strip()} {r.stderr.strip()}")
        if not self.kv_ports:
            return
        port = self.kv_ports[n % len(self.kv_ports)]
        r = run(["redis-benchmark", "-p", str(port), "-n", "2000", "-c", "4", "-t", "set,get,incr,lpush,lpop", "-q"])
        out = r.stdout + r.stderr
        tests = len(re.findall(r"requests per second", out))
        good = r.returncode == 0 and tests == 5 and "ERR" not in out and "Error" not in out
        self.counts.add("redis-benchmark", 5 * 2000 if good else 0, 0 if good else 5 * 2000,
                        f"port {port}: redis-benchmark {r.returncode} {out[-300:]!r}")

    # The churn: a client appliance on the switch fetches from one of the lan
    # appliances and holds; an idle one beside it; both destroyed.
    def churn_round(self, n):
        o = self.opts
        target = f"{LAN_NET}.{n % o.lan + 1}" if o.lan else None
        probe, idle = f"probe-{n}", f"churn-{n}"
        reqs = [{"verb": "create", "args": ["--name", idle, "--net", "none", self.images["idle"]]}]
        if target:
            reqs.append({"verb": "create", "args": [
                "--name", probe, "--net", f"switch=soak,ip={LAN_NET}.{200 + n % 50}/24", self.images["probe"], "--",
                "http", target, "80", "/index.html", str(len(self.index)), f"{fnv1a(self.index):08x}", "hold"]})
        answers = self.proto.burst(reqs)
        created = [r["args"][1] for r, a in zip(reqs, answers) if a.get("ok")]
        for r, a in zip(reqs, answers):
            if not a.get("ok"):
                self.counts.add("churn-create", 0, 1, f"{r['args'][1]}: {a.get('error')}")
        if target and probe in created:
            deadline = time.time() + 120
            while time.time() < deadline and "net_probe: " not in self.console(probe):
                time.sleep(0.1)
            h = self.console(probe)
            self.counts.add("probe", int("net_probe: PASSED" in h), int("net_probe: PASSED" not in h),
                            f"{probe} -> {target}: {h[-200:]!r}")
        for name in created:
            a = self.proto.request("destroy", domain=name)
            if not a.get("ok"):
                self.counts.add("churn-destroy", 0, 1, f"{name}: {a.get('error')}")
        wait_for(lambda: not any(d["name"] in created for d in self.proto.domains()), f"{created} to be gone")
        self.churned += len(created)

    def loop(self, step):
        n = 0
        while not self.stop.is_set():
            step(n)
            n += 1


def main():
    ap = argparse.ArgumentParser()
    for a in ("atoll", "httpd", "kvstore", "probe", "idle_image", "index"):
        ap.add_argument(a)
    ap.add_argument("duration", type=float)
    ap.add_argument("--web", type=int, default=4)
    ap.add_argument("--kv", type=int, default=4)
    ap.add_argument("--lan", type=int, default=4)
    ap.add_argument("--idle", type=int, default=8)
    ap.add_argument("--sample", type=float, default=10)
    o = ap.parse_args()
    if not 0 <= o.lan <= 199:
        sys.exit("fleet_soak.py: --lan is 0..199 (one /24, the churn's clients at .200 and up)")
    for tool in ("curl", "ab", "wrk", "redis-cli", "redis-benchmark"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode != 0:
            print(f"SKIP: {tool} is not installed (packages curl, apache2-utils, wrk, redis-tools)")
            return 77
    images = {"httpd": os.path.abspath(o.httpd), "kvstore": os.path.abspath(o.kvstore),
              "probe": os.path.abspath(o.probe), "idle": os.path.abspath(o.idle_image)}
    index = open(o.index, "rb").read()
    steady = o.web + o.kv + o.lan + o.idle
    with tempfile.TemporaryDirectory() as tmp:
        atoll, log, daemon = daemon_in(tmp, os.path.abspath(o.atoll))
        proto = Protocol(os.path.join(tmp, "atoll.sock"))
        empty0 = settled(daemon.pid)
        say(f"daemon pid {daemon.pid}, empty: {fmt(empty0)}")
        fleet = Fleet(proto, tmp, images, index, o)
        t0 = time.time()
        samples = []
        baseline = final = None
        if fleet.up():
            say(f"{steady} domains up in {time.time() - t0:.0f} s: {fmt(sample(daemon.pid))}")
            # Warm-up: one round of each loop, one after the other, then the baseline.
            fleet.web_round(0)
            fleet.kv_round(0)
            fleet.churn_round(0)
            baseline = settled(daemon.pid)
            say(f"baseline after the warm-up: {fmt(baseline)}")
            check(baseline["guests"] == steady, f"the baseline has the {steady} steady domains' guests: {fmt(baseline)}")
            loops = [threading.Thread(target=fleet.loop, args=(step,), daemon=True)
                     for step in ((lambda n: fleet.web_round(n + 1)), (lambda n: fleet.kv_round(n + 1)),
                                  (lambda n: fleet.churn_round(n + 1)))]
            start = time.time()
            for t in loops:
                t.start()
            while time.time() - start < o.duration:
                time.sleep(min(o.sample, max(0.0, o.duration - (time.time() - start))))
                samples.append(sample(daemon.pid))
                ok, failed = fleet.counts.total()
                say(f"{time.time() - start:.0f} s: {fmt(samples[-1])}; requests {ok} ok {failed} failed, "
                    f"{fleet.churned} churned")
                check(daemon.poll() is None, "the daemon is running")
                if daemon.poll() is not None:
                    break
            fleet.stop.set()
            for t in loops:
                t.join(timeout=900)
                check(not t.is_alive(), "a client loop finished its round")
            elapsed = time.time() - start
            final = settled(daemon.pid)
            say(f"after {elapsed:.0f} s, the loops stopped: {fmt(final)}")
            for k in ("fds", "threads", "maps", "guests", "helpers", "pooled"):
                check(final[k] == baseline[k], f"{k} flat: {baseline[k]} after the warm-up, {final[k]} at the end")
            rss_allowed = max(RSS_SLACK_KIB, int(baseline["anon_kib"] * RSS_SLACK_FRACTION))
            check(final["anon_kib"] - baseline["anon_kib"] <= rss_allowed,
                  f"the daemon's own RSS (RssAnon) flat: {baseline['anon_kib']} KiB after the warm-up, "
                  f"{final['anon_kib']} KiB at the end (allowed +{rss_allowed} KiB)")
            ok, failed = fleet.counts.total()
            check(failed == 0, f"every request succeeded: {failed} failed of {ok + failed}; first: "
                  f"{fleet.counts.first_failures[:5]}")
            check(ok > 0, "requests were served")

        # Everything stops: every domain destroyed, nothing left of them.
        answers = proto.burst([{"verb": "destroy", "domain": d["name"]} for d in proto.domains()], window=8)
        check(all(a.get("ok") for a in answers), "every destroy accepted")
        wait_for(lambda: not proto.domains() and not guests(daemon.pid) and not helpers(daemon.pid),
                 "every domain, guest process and helper to be gone", timeout=300)
        empty1 = settled(daemon.pid)
        say(f"all destroyed: {fmt(empty1)}")
        for k in ("fds", "threads", "maps", "pooled"):
            check(empty1[k] == empty0[k],
                  f"{k} back to the empty daemon's: {empty0[k]} before the first domain, {empty1[k]} after the last")
        kids = children(daemon.pid)
        daemon_log = stop_daemon(daemon, log)
        left = [p for p in kids if os.path.exists(f"/proc/{p}") and comm(p) in ("atoll-loader", "atoll-slirp")]
        wait_for(lambda: not [p for p in left if os.path.exists(f"/proc/{p}")], "no process of the daemon left")

    ok, failed = fleet.counts.total()
    if baseline and final:
        print(f"| soak | {elapsed / 60:.1f} min | {steady} steady domains + {fleet.churned} created and destroyed "
              f"| {ok:,} requests served, {failed} failed | fds {baseline['fds']} -> {final['fds']} | "
              f"own RSS {baseline['anon_kib'] / 1024:.1f} -> {final['anon_kib'] / 1024:.1f} MiB "
              f"(VmRSS {baseline['rss_kib'] / 1024:.1f} -> {final['rss_kib'] / 1024:.1f}) | "
              f"threads {baseline['threads']} -> {final['threads']} |")
        print("- by client: " + ", ".join(f"{k} {v:,}" for k, v in sorted(fleet.counts.ok.items())))
        print(f"- steady: {o.web} httpd-demo (user networking, -p), {o.kv} kvstore (user networking, log on a disk), "
              f"{o.lan} httpd-demo on a switch, {o.idle} idle; samples every {o.sample:.0f} s: {len(samples)}")
        if samples:
            peak = max(s["anon_kib"] for s in samples)
            print(f"- own RSS peak {peak / 1024:.1f} MiB; fds range {min(s['fds'] for s in samples)}-"
                  f"{max(s['fds'] for s in samples)}; threads range {min(s['threads'] for s in samples)}-"
                  f"{max(s['threads'] for s in samples)} (churn domains come and go between samples)")
        print(f"- RSS allowance {rss_allowed} KiB: a leak of more than {rss_allowed * 1024 / max(1, ok):.1f} bytes a "
              f"request or {rss_allowed / max(1, fleet.churned):.1f} KiB a churned domain would have failed the check")
        print(f"- empty daemon: fds {empty0['fds']} -> {empty1['fds']}, threads {empty0['threads']} -> "
              f"{empty1['threads']}, own RSS {empty0['anon_kib'] / 1024:.1f} -> {empty1['anon_kib'] / 1024:.1f} MiB")
    return verdict("fleet_soak", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
