#!/usr/bin/env python3
"""bench/fleet/load.py: the fleet under load (issue 13). N httpd-demo
appliances on one `atoll daemon`, each on the default path (user networking,
a hostfwd of its own), served by wrk in turn; against the same appliance
served alone (the only domain on the daemon), in the same run.

  1. alone: one appliance, wrk -t1 -c8 for SECONDS, three times (median);
  2. N running: every appliance answers one curl first (all are up), then
     each in turn gets the same wrk for SECONDS; per appliance req/s and p99;
  3. the alone figure again at the end, so drift of the machine's load shows.

Prints a markdown table and notes; progress on stderr.

    load.py BUILD_DIR [N] [SECONDS]
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "daemon"))
from daemon_lib import daemon_in, loadavg, stop_daemon, wait_for  # noqa: E402

build = os.path.abspath(sys.argv[1])
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
atoll_exe = f"{build}/hypervisor/atoll"
httpd = f"{build}/apps/httpd/httpd-demo"
BASE_PORT = 34100  # N ports from here; clear of the test suite's


def say(*a):
    print("load:", *a, file=sys.stderr, flush=True)


def wrk(port):
    """(requests/s, p99 ms) of wrk -t1 -c8 over keep-alive connections."""
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{SECONDS}s", "--latency", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    m = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    return rps, p99


def answers(port):
    return subprocess.run(["curl", "-sf", "-o", "/dev/null", "-m", "2", f"http://127.0.0.1:{port}/"]).returncode == 0


def main():
    for f in (atoll_exe, httpd):
        if not os.access(f, os.R_OK):
            raise SystemExit(f"load.py: missing {f}; build it with ninja -C {build}")
    notes = [f"load average at start {loadavg()}; {os.cpu_count()} vCPUs; {N} appliances, wrk -t1 -c8 -d{SECONDS}s each"]
    with tempfile.TemporaryDirectory() as tmp:
        atoll, log, daemon = daemon_in(tmp, atoll_exe)
        try:
            def create(i):
                r = atoll.create(tmp, f"web-{i}", httpd, [f"user,hostfwd=tcp:127.0.0.1:{BASE_PORT + i}-:80"])
                if r.returncode:
                    raise SystemExit(f"load.py: create web-{i}: {r.stderr.strip()}")
                wait_for(lambda: answers(BASE_PORT + i), f"web-{i} to answer", timeout=120)

            say("one appliance alone...")
            create(0)
            alone = [wrk(BASE_PORT) for _ in range(3)]
            say(f"{N} appliances...")
            t0 = time.monotonic()
            for i in range(1, N):
                create(i)
            notes.append(f"{N - 1} more created and answering in {time.monotonic() - t0:.1f} s")
            say(f"serving each of {N} in turn...")
            fleet = [wrk(BASE_PORT + i) for i in range(N)]
            say("the first one alone again (the others idle)...")
            # Not alone any more, but the others are idle: this is the drift check.
            again = [wrk(BASE_PORT) for _ in range(3)]
            rss_kib = 0
            with open(f"/proc/{daemon.pid}/status") as f:
                rss_kib = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
            notes.append(f"the daemon's RSS with {N} appliances: {rss_kib / 1024:.1f} MiB")
        finally:
            stop_daemon(daemon, log)
    a_rps = statistics.median(r for r, _ in alone)
    a_p99 = statistics.median(p for _, p in alone)
    f_rps = statistics.median(r for r, _ in fleet)
    f_p99 = statistics.median(p for _, p in fleet)
    worst = max(p for _, p in fleet)
    g_rps = statistics.median(r for r, _ in again)
    print("| benchmark | with the fleet | alone | ratio |")
    print("|---|---:|---:|---:|")
    print(f"| req/s of one appliance, median over the {N} served in turn, vs the same alone | {f_rps:.0f} | {a_rps:.0f} | {f_rps / a_rps:.2f}× |")
    print(f"| p99 latency, median over the {N} | {f_p99:.2f} ms | {a_p99:.2f} ms | {f_p99 / a_p99:.2f}× |")
    print(f"| p99 latency, the worst of the {N} | {worst:.2f} ms | {a_p99:.2f} ms | {worst / a_p99:.2f}× |")
    print(f"| aggregate: requests served over the {N} turns | {sum(r for r, _ in fleet) * SECONDS:.0f} in {N * SECONDS} s | — | — |")
    notes.append(f"the first appliance again after the turns, {N - 1} others idle: {g_rps:.0f} req/s "
                 f"({g_rps / a_rps:.2f}× alone at the start)")
    notes.append(f"load average at end {loadavg()}")
    print()
    print("\n".join(f"- {n}" for n in notes))


if __name__ == "__main__":
    main()
