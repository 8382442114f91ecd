#!/usr/bin/env python3
"""bench/fleet/vif_density.py: appliances with a vif, at once, each answering
a TCP request (issue 13's second density goal: >= 5,000).

N httpd-demo appliances on one `atoll daemon`, on switches of the daemon's
own loop (PER_SWITCH appliances each, one /24 a switch: 10.S1.S2.1 and up),
created in bursts on the daemon's socket. Then one client appliance per
switch (net_probe sweep, at 10.S1.S2.254) fetches /index.html from every
appliance on its switch, one after the other, and checks every byte (length
and FNV-1a hash). A switch floods a broadcast (the client's ARP request for
each address) to every port, so switches of a hundred keep that flood to a
hundred per request; the appliances answer at once.

Reports: appliances running, how many answered, host memory per appliance
(MemAvailable's drop, and the PSS of the guest processes plus the daemon's
growth), the daemon's descriptors, then shuts everything down and checks
that every appliance powered off. Correctness is asserted (exit 1 when an
appliance did not answer or did not power off); times are only reported.

    vif_density.py ATOLL HTTPD_DEMO NET_PROBE SITE_INDEX N [PER_SWITCH]

The test suite runs it small (`fleet-vif-density`); the figure in
bench/RESULTS.md is N = 5000.
"""
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "daemon"))
from daemon_lib import (Protocol, check, daemon_in, fnv1a, guests, loadavg, mem_available_kib, open_fds,  # noqa: E402
                        pss_kib, stop_daemon, verdict, wait_for)

BURST = 500  # creates sent per burst (32 in flight), so progress shows


def say(*a):
    print("vif_density:", *a, file=sys.stderr, flush=True)


def subnet(s):
    return f"10.{100 + s // 256}.{s % 256}"


def create_all(proto, requests, what):
    """Sends the creates in bursts; the first refusal, or None."""
    for i in range(0, len(requests), BURST):
        answers = proto.burst(requests[i:i + BURST])
        bad = [a for a in answers if not a.get("ok")]
        if bad:
            return f"{what}: {len(bad)} of a burst refused, first: {bad[0].get('error')}"
        say(f"  {what}: {min(i + BURST, len(requests))} of {len(requests)} created, load {loadavg()}, "
            f"MemAvailable {mem_available_kib() // 1024} MiB")
    return None


def main():
    exe, httpd, probe, index_path = (os.path.abspath(a) for a in sys.argv[1:5])
    n = int(sys.argv[5])
    per_switch = int(sys.argv[6]) if len(sys.argv) > 6 else 100
    if not 1 <= per_switch <= 250:
        sys.exit("vif_density.py: PER_SWITCH is 1..250 (one /24 a switch, the client at .254)")
    index = open(index_path, "rb").read()
    switches = (n + per_switch - 1) // per_switch
    tag = os.getpid()
    with tempfile.TemporaryDirectory() as tmp:
        atoll, log, daemon = daemon_in(tmp, exe)
        proto = Protocol(os.path.join(tmp, "atoll.sock"))
        fds0, mem0, pss0 = open_fds(daemon.pid), mem_available_kib(), pss_kib(daemon.pid)

        t0 = time.monotonic()
        webs = []
        for i in range(n):
            s, k = divmod(i, per_switch)
            webs.append({"verb": "create", "args": ["--name", f"web-{i}", "--net", f"switch=vd{tag}-{s},ip={subnet(s)}.{k + 1}/24",
                                                    httpd, "--", "--quiet"]})
        say(f"creating {n} httpd-demo appliances on {switches} switches of {per_switch}...")
        error = create_all(proto, webs, "appliances")
        check(error is None, error or "")
        wait_for(lambda: sum("main_ns" in d for d in proto.domains()) == n, f"all {n} appliances to reach main()",
                 timeout=max(120, n // 5))
        t_fill = time.monotonic() - t0
        sealed = guests(daemon.pid)
        fds = open_fds(daemon.pid)
        mem_kib = (mem0 - mem_available_kib()) / n
        pss_guests = sum(pss_kib(p) for p in sealed)
        pss_daemon = pss_kib(daemon.pid) - pss0

        say(f"{n} running after {t_fill:.1f} s; one client appliance a switch sweeps its {per_switch}...")
        t1 = time.monotonic()
        clients = []
        for s in range(switches):
            count = min(per_switch, n - s * per_switch)
            clients.append({"verb": "create", "args": [
                "--name", f"client-{s}", "--net", f"switch=vd{tag}-{s},ip={subnet(s)}.254/24", probe, "--", "sweep",
                f"{subnet(s)}.1", str(count), "80", "/index.html", str(len(index)), f"{fnv1a(index):08x}"]})
        error = create_all(proto, clients, "clients")
        check(error is None, error or "")
        wait_for(lambda: not any(d["name"].startswith("client-") for d in proto.domains()),
                 "every client appliance to finish its sweep", timeout=max(300, n))
        t_sweep = time.monotonic() - t1
        answered, silent = 0, []
        for s in range(switches):
            console = proto.request("log", domain=f"client-{s}").get("console", "")
            m = re.search(r"net_probe: sweep (\d+) of (\d+) answered", console)
            answered += int(m.group(1)) if m else 0
            silent += re.findall(r"no good answer from (\S+)", console)
            check(m is not None, f"client-{s} reported its sweep: {console[-300:]!r}")
        check(answered == n, f"every appliance answered its client: {answered} of {n}; silent: {silent[:10]}")

        say(f"{answered} of {n} answered after {t_sweep:.1f} s; shutting down...")
        ended0 = ended_lines(log)
        answers = proto.burst([{"verb": "shutdown", "domain": f"web-{i}"} for i in range(n)])
        check(all(a.get("ok") for a in answers), "every shutdown accepted")
        wait_for(lambda: not proto.domains(), "every appliance to power off", timeout=max(120, n // 5))
        powered_off = ended_lines(log) - ended0
        check(powered_off == n, f"every appliance powered off (status 0): {powered_off} of {n}")
        daemon_log = stop_daemon(daemon, log)

    print(f"| appliances with a vif at once, each answering a TCP request (httpd-demo, 16 MiB, switches of {per_switch}) "
          f"| {answered} of {n} | ≥ 5,000 | {'met' if n >= 5000 and answered == n else ('**missed**' if n >= 5000 else 'small form')} |")
    print()
    print(f"- {n} created and in main() in {t_fill:.1f} s (bursts of {BURST}, 32 in flight); "
          f"{switches} client appliances fetched /index.html ({len(index)} bytes, checked) from all {n} in {t_sweep:.1f} s; "
          f"load average at the end {loadavg()}")
    print(f"- host memory per appliance: MemAvailable drop {mem_kib:.0f} KiB; PSS {pss_guests / max(1, len(sealed)):.0f} KiB "
          f"a guest process + {pss_daemon / n:.0f} KiB of the daemon's growth = {(pss_guests + pss_daemon) / n:.0f} KiB")
    print(f"- the daemon's descriptors: {fds0} before, {fds} with {n} running ({(fds - fds0) / n:.2f} an appliance)")
    print(f"- all {powered_off} powered off when told")
    return verdict("vif_density", daemon_log)


def ended_lines(log):
    log.flush()
    with open(log.name) as f:
        return sum("ended: poweroff (status 0)" in line for line in f)


if __name__ == "__main__":
    sys.exit(main())
