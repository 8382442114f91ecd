#!/usr/bin/env python3
"""bench/fleet/switch_load.py: the fleet under load on the daemon's switch
(issue 13): N httpd-demo appliances on one switch of one `atoll daemon`,
each served in turn by a client appliance on the same switch; against the
same appliance served alone (the only one on its switch), in the same run.

The host's own load generators cannot reach the daemon's switch (it has no
port on the host: docs/fleet.md), so the client is an appliance:
`net_probe load` (tests/boot/net/net_probe.c) sends GETs of /index.html one
at a time, each on a new connection, checks every byte of every reply (length
and FNV-1a), for SECONDS an appliance, and prints requests, failures and the
median and p99 latency an appliance. `bench/fleet/load.py` is the same
comparison on the default path (user networking, wrk from the host).

  1. alone: one appliance, the client for SECONDS, three times (median);
  2. N - 1 more appliances on the switch, every one in main(); the client
     then serves each of the N in turn;
  3. the first appliance alone again, the others idle, three times.

Prints a markdown table and notes; progress on stderr. Exit 1 if a request
failed or an appliance did not power off when told.

    switch_load.py BUILD_DIR [N] [SECONDS]
"""
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "daemon"))
from daemon_lib import Protocol, check, daemon_in, fnv1a, loadavg, stop_daemon, verdict, wait_for  # noqa: E402

build = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
atoll_exe = f"{build}/hypervisor/atoll"
httpd = f"{build}/apps/httpd/httpd-demo"
probe = f"{build}/tests/boot/net/net_probe"
index = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps", "httpd", "site",
                          "index.html"), "rb").read()
NET = "10.200.0"
LINE = re.compile(r"net_probe: load (\S+) requests (\d+) failed (\d+) seconds ([\d.]+) p50_us (\d+) p99_us (\d+)")


def say(*a):
    print("switch_load:", *a, file=sys.stderr, flush=True)


class Run:
    def __init__(self, proto, switch):
        self.proto, self.switch, self.serial = proto, switch, 0

    def web(self, i):
        a = self.proto.request("create", args=["--name", f"web-{i}", "--net", f"switch={self.switch},ip={NET}.{i + 1}/24",
                                               httpd, "--", "--quiet"])
        check(a.get("ok"), f"web-{i} created: {a}")

    def client(self, count):
        """The client appliance's lines: one dict an appliance served."""
        self.serial += 1
        name = f"client-{self.serial}"
        # Each client is a new domain at the same address, as a restarted
        # appliance is. Its connections start above its predecessor's (and so
        # pass the servers' TIME-WAIT) when opened more than 67 ms after them
        # (libc-glue/lwip/tcp_isn.cpp); a restart takes longer than that.
        time.sleep(0.1)
        a = self.proto.request("create", args=["--name", name, "--net", f"switch={self.switch},ip={NET}.254/24", probe,
                                               "--", "load", f"{NET}.1", str(count), "80", "/index.html",
                                               str(len(index)), f"{fnv1a(index):08x}", str(SECONDS)])
        check(a.get("ok"), f"{name} created: {a}")
        wait_for(lambda: name not in [d["name"] for d in self.proto.domains()], f"{name} to finish",
                 timeout=60 + count * (SECONDS + 10))
        console = self.proto.request("log", domain=name).get("console", "")
        lines = [dict(addr=m[0], requests=int(m[1]), failed=int(m[2]), seconds=float(m[3]), p50=int(m[4]) / 1e3,
                      p99=int(m[5]) / 1e3) for m in LINE.findall(console)]
        check(len(lines) == count, f"{name} served {count} appliances: {console[-400:]!r}")
        if any(line["failed"] for line in lines):
            say(f"{name}: requests failed; its console: {console[-1500:]!r}")
        for line in lines:
            line["rps"] = line["requests"] / line["seconds"]
        return lines


def rates(lines):
    return ", ".join(f"{x['rps']:.0f}" for x in lines)


def main():
    notes = [f"load average at start {loadavg()}; {os.cpu_count()} vCPUs; {N} appliances on one switch, "
             f"{SECONDS} s of one-at-a-time GETs (a new connection each) an appliance"]
    with tempfile.TemporaryDirectory() as tmp:
        atoll, log, daemon = daemon_in(tmp, atoll_exe)
        proto = Protocol(os.path.join(tmp, "atoll.sock"))
        run = Run(proto, f"sl{os.getpid()}")
        run.web(0)
        wait_for(lambda: all("main_ns" in d for d in proto.domains()), "web-0 to boot")
        say("alone, three turns...")
        alone = [run.client(1)[0] for _ in range(3)]
        say(f"{N - 1} more appliances on the switch...")
        t0 = time.monotonic()
        for i in range(1, N):
            run.web(i)
        wait_for(lambda: sum("main_ns" in d for d in proto.domains()) == N, f"all {N} appliances to boot", timeout=600)
        notes.append(f"{N - 1} more created and in main() after {time.monotonic() - t0:.1f} s")
        say(f"serving each of the {N} in turn ({N * SECONDS} s)...")
        fleet = run.client(N)
        say("the first one again, the others idle, three turns...")
        again = [run.client(1)[0] for _ in range(3)]
        failed = sum(x["failed"] for x in alone + fleet + again)
        check(failed == 0, f"every request answered byte for byte: {failed} failed")
        answers = proto.burst([{"verb": "shutdown", "domain": f"web-{i}"} for i in range(N)])
        check(all(a.get("ok") for a in answers), "every shutdown accepted")
        wait_for(lambda: not proto.domains(), "every appliance to power off", timeout=300)
        log.flush()
        with open(log.name) as f:
            powered_off = sum("ended: poweroff (status 0)" in line for line in f)
        check(powered_off >= N, f"every appliance powered off (status 0): {powered_off} of {N}")
        daemon_log = stop_daemon(daemon, log)

    med = statistics.median
    a_rps, a_p99, a_p50 = med(x["rps"] for x in alone), med(x["p99"] for x in alone), med(x["p50"] for x in alone)
    f_rps, f_p99, f_p50 = med(x["rps"] for x in fleet), med(x["p99"] for x in fleet), med(x["p50"] for x in fleet)
    worst = max(x["p99"] for x in fleet)
    print("| benchmark | with the fleet | alone | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| req/s of one appliance, median over the {N} served in turn, vs the same alone | {f_rps:.0f} | {a_rps:.0f} | {f_rps / a_rps:.2f}× |")
    print(f"| median latency, median over the {N} | {f_p50:.2f} ms | {a_p50:.2f} ms | {f_p50 / a_p50:.2f}× |")
    print(f"| p99 latency, median over the {N} | {f_p99:.2f} ms | {a_p99:.2f} ms | {f_p99 / a_p99:.2f}× |")
    print(f"| p99 latency, the worst of the {N} | {worst:.2f} ms | {a_p99:.2f} ms | {worst / a_p99:.2f}× |")
    print(f"| aggregate: requests served over the {N} turns, every byte checked | {sum(x['requests'] for x in fleet):,} in "
          f"{sum(x['seconds'] for x in fleet):.0f} s | — | — |")
    notes.append(f"alone: {rates(alone)} req/s; again after the fleet's turns, the others idle: {rates(again)} req/s "
                 f"({med(x['rps'] for x in again) / a_rps:.2f}× the first)")
    notes.append(f"{powered_off} powered off when told; load average at the end {loadavg()}")
    print()
    print("\n".join(f"- {n}" for n in notes))
    return verdict("switch_load", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
