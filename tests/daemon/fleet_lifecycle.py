#!/usr/bin/env python3
"""100 domains from config files through their whole lifecycle on one daemon
(docs/fleet.md), correctness only:

  * created with `atoll create CFG`, listed with `list --json` (every name,
    id, memory and state);
  * pause/unpause of 20 ticker guests (tests/daemon/ticker.c), held to what
    Xen does (docs/fleet.md, "Pause, clocks and timers"): the guest runs
    nothing while paused (no tick is stamped between pause and unpause), its
    clock never runs back and carries on across the pause, the timer that
    expired while it was paused fires once on unpause, and no tick is lost or
    repeated (seq goes up by one each time), nor any fires before its deadline;
  * every on_poweroff, on_reboot and on_crash policy (destroy, restart,
    preserve), each reached every way: `atoll shutdown`, `atoll reboot`, a
    guest that powers off, reboots or crashes by itself, and `atoll destroy`
    (of running, paused and preserved domains); the reason of every end is in
    `list` (last_end) and `log`;
  * `create -c` of a guest that ends at once shows all it printed;
  * at the end nothing is left: no domain, no guest process.

    fleet_lifecycle.py ATOLL IDLE TICKER HELLO REBOOT CRASH
"""
import os
import re
import subprocess
import sys
import tempfile
import time

from daemon_lib import Atoll, check, create, daemon_in, guests, stop_daemon, verdict, wait_for, write_cfg

TICKERS = 20
PAUSE_S = 1.0  # several ticker periods (100 ms): enough timers expire while paused


def now_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def by_name(atoll):
    return atoll.domains()  # name -> its `list --json` entry


def ticks(atoll, name):
    return [tuple(int(x) for x in m) for m in
            re.findall(r"^tick seq=(\d+) deadline=(\d+) now=(\d+)$", atoll.history(name), re.M)]


def check_ticker(name, seen, paused_ns, unpause_ns):
    """Xen's behaviour across a pause, from the ticker's own lines."""
    seqs = [s for s, _, _ in seen]
    check(seqs == list(range(1, len(seen) + 1)), f"{name}: no tick lost or repeated: {seqs}")
    check(all(now >= deadline for _, deadline, now in seen), f"{name}: no timer fires before its deadline")
    check(all(a[2] < b[2] for a, b in zip(seen, seen[1:])), f"{name}: the clock never runs back")
    inside = [t for t in seen if paused_ns <= t[2] < unpause_ns]
    check(not inside, f"{name}: nothing runs while paused: {inside[:2]}")
    after = [i for i, t in enumerate(seen) if t[2] >= unpause_ns]
    if not check(after and after[0] > 0, f"{name}: ticks before and after the pause"):
        return
    k = after[0]
    before, first = seen[k - 1], seen[k]
    check(first[1] < unpause_ns, f"{name}: the first tick after unpause is the timer that expired while paused")
    check(first[2] - before[2] >= unpause_ns - paused_ns,
          f"{name}: the clock carried on while paused ({first[2] - before[2]} ns across a pause of at least "
          f"{unpause_ns - paused_ns} ns)")
    if k + 1 < len(seen):
        check(seen[k + 1][1] >= first[2], f"{name}: the expired timer fired once (the next one was set after it)")


def test_pause(atoll, names):
    wait_for(lambda: all(len(ticks(atoll, n)) >= 2 for n in names), "every ticker to tick twice")
    for n in names:
        atoll.ok("pause", n)
    paused_ns = now_ns()
    states = {n: d["state"] for n, d in by_name(atoll).items()}
    check(all(states.get(n) == "paused" for n in names), f"the tickers are listed paused: {set(states.values())}")
    time.sleep(PAUSE_S)
    unpause_ns = now_ns()
    for n in names:
        atoll.ok("unpause", n)
    wait_for(lambda: all(sum(t[2] >= unpause_ns for t in ticks(atoll, n)) >= 3 for n in names),
             "every ticker to tick three times after unpause")
    for n in names:
        check_ticker(n, ticks(atoll, n), paused_ns, unpause_ns)
    states = {n: d["state"] for n, d in by_name(atoll).items()}
    check(all(states.get(n) in ("running", "blocked") for n in names), "the tickers run again")


def test_create_console_short_lived(atoll, tmp, hello):
    """Regression: `create -c` of a guest that prints and ends at once failed
    ("no domain"), its console asked for in a second request after it had gone.
    Its stdin stays open, as a terminal's would: at the end of input the
    console detaches."""
    cfg = write_cfg(tmp, "hello-console", hello)
    p = subprocess.Popen([atoll.exe, "create", "-c", cfg], env=atoll.env, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    status = p.wait(timeout=60)
    out, err = p.stdout.read(), p.stderr.read()
    p.stdin.close()
    check(status == 0 and "domain hello-console created: id" in out and "Hello from Atoll!" in out,
          f"create -c shows a short-lived guest's whole output: {status} {out[-300:]!r} {err.strip()!r}")


def log_of(atoll, name):
    return atoll.run("log", name).stdout


def expect_gone(atoll, name, *phrases):
    wait_for(lambda: name not in by_name(atoll), f"{name} to be gone")
    text = log_of(atoll, name)
    check(all(p in text for p in phrases), f"{name}'s log has {phrases}: {text[-400:]!r}")


def expect_listed(atoll, name, state, last_end, restarts, *phrases):
    def there():
        d = by_name(atoll).get(name)
        return d and d["state"] in state and last_end in d.get("last_end", "") and d["restarts"] == restarts
    wait_for(there, f"{name} to be listed {state} after {last_end} with {restarts} restart(s)")
    text = log_of(atoll, name)
    check(all(p in text for p in phrases), f"{name}'s log has {phrases}: {text[-400:]!r}")


def main():
    exe, idle, ticker, hello, reboot, crash = (os.path.abspath(a) for a in sys.argv[1:7])
    with tempfile.TemporaryDirectory() as tmp:
        atoll, log, daemon = daemon_in(tmp, exe)
        running = ("running", "blocked")
        policies = ("destroy", "restart", "preserve")

        # name -> (image, extra config)
        plan = {}
        for i in range(TICKERS):
            plan[f"tick-{i}"] = (ticker, "")
        for p in policies:
            for i in range(5):
                plan[f"off-{p}-{i}"] = (idle, f"on_poweroff = '{p}'\n")
                plan[f"reb-{p}-{i}"] = (idle, f"on_reboot = '{p}'\n")
                plan[f"crash-{p}-{i}"] = (crash, f"on_crash = '{p}'\nmax_restarts = 1\n")
        for i in range(5):
            plan[f"hello-restart-{i}"] = (hello, "on_poweroff = 'restart'\nmax_restarts = 2\n")
            plan[f"selfreboot-{i}"] = (reboot, "on_reboot = 'destroy'\n")
        for i in range(10):
            plan[f"kill-{i}"] = (idle, "")
        for i in range(15):
            plan[f"rest-{i}"] = (idle, "")
        check(len(plan) == 100, f"the plan has 100 domains: {len(plan)}")

        ids = {name: create(atoll, write_cfg(tmp, name, image, extra)) for name, (image, extra) in plan.items()}
        check(all(ids.values()), "all 100 are created")  # (ids of the short-lived ones come back into use)
        listed = by_name(atoll)
        lasting = [n for n, (image, _) in plan.items() if image in (idle, ticker)]
        check(all(n in listed and listed[n]["id"] == ids[n] and listed[n]["memory_mib"] == 16 for n in lasting),
              "list --json has every lasting domain with its id and memory")

        test_pause(atoll, [n for n in plan if n.startswith("tick-")])
        test_create_console_short_lived(atoll, tmp, hello)

        # Asked from outside: shutdown and reboot, under each policy.
        wait_for(lambda: all("idle: ready" in atoll.history(n) for n in plan if n.startswith(("off-", "reb-"))),
                 "the idle domains to boot")
        for p in policies:
            for i in range(5):
                atoll.ok("shutdown", f"off-{p}-{i}")
                atoll.ok("reboot", f"reb-{p}-{i}")
        for i in range(5):
            expect_gone(atoll, f"off-destroy-{i}", "poweroff requested", "ended: poweroff (status 0)")
            expect_listed(atoll, f"off-restart-{i}", running, "poweroff (status 0)", 1, "restarting in 0 ms")
            expect_listed(atoll, f"off-preserve-{i}", ("preserved",), "poweroff (status 0)", 0, "preserved:")
            expect_gone(atoll, f"reb-destroy-{i}", "reboot requested", "ended: reboot")
            expect_listed(atoll, f"reb-restart-{i}", running, "reboot", 1, "restarting in 0 ms")
            expect_listed(atoll, f"reb-preserve-{i}", ("preserved",), "reboot", 0, "preserved:")
            # By the guest itself: a crash under each policy, a poweroff that restarts, a reboot that destroys.
            expect_gone(atoll, f"crash-destroy-{i}", "ended: crash")
            expect_gone(atoll, f"crash-restart-{i}", "ended: crash", "restart 1 of at most 1 in a row",
                        "restarted 1 times in a row; giving up")
            expect_listed(atoll, f"crash-preserve-{i}", ("preserved",), "crash", 0, "preserved:")
            expect_gone(atoll, f"hello-restart-{i}", "restart 2 of at most 2", "giving up")
            check(log_of(atoll, f"hello-restart-{i}").count("ended: poweroff (status 0)") == 3,
                  f"hello-restart-{i} powered off three times")
            expect_gone(atoll, f"selfreboot-{i}", "ended: reboot")

        # Destroy: running, paused and preserved domains alike.
        for i in range(10):
            if i % 2:
                atoll.ok("pause", f"kill-{i}")
            atoll.ok("destroy", f"kill-{i}")
            expect_gone(atoll, f"kill-{i}", "destroyed: atoll destroy")
        for name in [n for n, d in by_name(atoll).items() if d["state"] == "preserved"]:
            atoll.ok("destroy", name)
            expect_gone(atoll, name, "preserved:", "destroyed: atoll destroy")

        # The rest power off when asked, the restarted ones included (a restart
        # keeps its policy, so shutdown ends them for good only where it says destroy).
        for name, d in by_name(atoll).items():
            if name.startswith(("off-restart-", "reb-restart-")):
                atoll.ok("destroy", name)
            else:
                atoll.ok("shutdown", "-w", name, timeout=120)
        check(not atoll.domains(), f"no domain is left: {list(atoll.domains())}")
        wait_for(lambda: not guests(daemon.pid), "every guest process to be gone")
        daemon_log = stop_daemon(daemon, log)
    return verdict("fleet lifecycle (100 domains, every policy and verb)", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
