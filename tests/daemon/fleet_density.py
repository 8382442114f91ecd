#!/usr/bin/env python3
"""The density and creation benchmarks' small form (bench/fleet), correctness
only:

  * 200 idle domains created in one burst (32 requests in flight on the
    daemon's socket): every create answered with its own id, every guest
    reaches main() (the boot record the daemon lists), one guest process each;
  * every domain's name answers `xenstore-read /local/domain/N/name`, through
    Debian's xenstore-read (XENSTORED_PATH) and through `atoll xenstore-read`;
  * all 200 shut down when told (control/shutdown, a burst again): each one's
    log says poweroff (status 0), and nothing is left behind: no guest
    process, no descriptor or guest-memory mapping in the daemon beyond what
    it held before the first create.

    fleet_density.py ATOLL IDLE_IMAGE
"""
import os
import shutil
import subprocess
import sys
import tempfile

from daemon_lib import (Atoll, Protocol, alive, check, children, guests, open_fds, pooled, run_args, skip, start_daemon,
                        stop_daemon, verdict, wait_for)

POOL = 8  # atoll daemon's default --sandbox-pool

DOMAINS = 200


def guest_mappings(pid):
    with open(f"/proc/{pid}/maps") as f:
        return sum("atoll-guest-ram" in line for line in f)


def main():
    exe, idle = (os.path.abspath(a) for a in sys.argv[1:3])
    if not shutil.which("xenstore-read"):
        skip("Debian's xenstore-read is not installed (apt-get install xenstore-utils)")
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "atoll.sock")
        atoll = Atoll(exe, sock)
        proto = Protocol(sock)
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        daemon = start_daemon(atoll, sock, log)
        xs_path = proto.request("info").get("xenstore_socket")
        # Counted with the pool of loaders started ahead full, as at the end.
        wait_for(lambda: len(pooled(daemon.pid)) == POOL, f"the daemon's pool of {POOL} loaders to fill")
        fds_before = open_fds(daemon.pid)

        names = [f"idle-{i}" for i in range(DOMAINS)]
        answers = proto.burst([{"verb": "create", "args": run_args(n, idle)} for n in names])
        bad = [(n, a) for n, a in zip(names, answers) if not a.get("ok")]
        check(not bad, f"every create in the burst succeeds: {len(bad)} failed, first {bad[:1]}")
        ids = {n: a.get("domid") for n, a in zip(names, answers)}
        check(sorted(ids.values()) == list(range(1, DOMAINS + 1)), "the burst's ids are 1..200, each once")
        wait_for(lambda: sum("main_ns" in d for d in proto.domains()) == DOMAINS, "every guest to reach main()",
                 timeout=300)
        listed = proto.domains()
        check(len(listed) == DOMAINS and all(d.get("main_ns", 0) >= d.get("started_ns", 1) for d in listed),
              "each guest's main() comes after its domain's creation")
        sealed = guests(daemon.pid)
        check(len(sealed) == DOMAINS and sorted(sealed) == sorted(d.get("pid") for d in listed),
              f"one guest process per domain, as listed: {len(sealed)}")

        env = dict(os.environ, XENSTORED_PATH=xs_path)
        for name, domid in ids.items():
            path = f"/local/domain/{domid}/name"
            r = subprocess.run(["xenstore-read", path], env=env, capture_output=True, text=True, timeout=30)
            check(r.returncode == 0 and r.stdout.strip() == name, f"Debian's xenstore-read {path}: {r.stdout!r} {r.stderr!r}")
            r = atoll.run("xenstore-read", path)
            check(r.returncode == 0 and r.stdout.strip() == name, f"atoll xenstore-read {path}: {r.stdout!r} {r.stderr!r}")

        answers = proto.burst([{"verb": "shutdown", "domain": n} for n in names])
        check(all(a.get("ok") for a in answers), "every shutdown request is accepted")
        wait_for(lambda: not proto.domains(), "every domain to power off", timeout=300)
        for name in names:
            record = proto.request("log", domain=name)
            check("ended: poweroff (status 0)" in record.get("log", "") and "idle: ready" in record.get("console", ""),
                  f"{name}'s log: it booted and powered off: {record.get('log', '')[-200:]!r}")
        wait_for(lambda: not any(alive(p) for p in sealed), "every guest process to be gone")
        wait_for(lambda: len(pooled(daemon.pid)) == POOL, f"the daemon's pool of {POOL} loaders to fill again")
        left = set(children(daemon.pid)) - set(pooled(daemon.pid))
        check(not left, f"no child of the daemon is left but its pool: {sorted(left)[:5]}")
        check(open_fds(daemon.pid) == fds_before, f"the daemon holds {open_fds(daemon.pid)} fds, as before ({fds_before})")
        check(guest_mappings(daemon.pid) == 0, "no guest memory is still mapped in the daemon")

        daemon_log = stop_daemon(daemon, log)
    return verdict(f"fleet density ({DOMAINS} domains created, read and shut down)", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
