#!/usr/bin/env python3
"""The resident daemon (docs/fleet.md), end to end, with real clients:

  * `atoll daemon --socket` on a temporary socket (mode 0600), `atoll info`;
  * 24 console-echo domains created from config files: ids 1..24 in order,
    listed (text and --json) with name, memory and state, each one's name
    readable with `atoll xenstore-read` and with Debian's xenstore-read and
    xenstore-ls against the shared store;
  * console: three attach/detach cycles on one domain, input each time, and
    every echo is in the history afterwards, in order (nothing lost while
    detached); on a terminal (a pty), typing reaches the guest and Ctrl-]
    detaches; pause/unpause (input sent while paused is echoed after);
  * reboot (restarted, same id, history kept), shutdown -w (the guest powers
    off through control/shutdown) and destroy;
    freed ids come back lowest first; a duplicate name is refused
    (vifs under the daemon: fleet_net.py);
  * 20 hello domains that power off at once: each one's log keeps its end
    reason and its console output after it is gone;
  * on_crash: restart with its budget (max_restarts, then given up, every
    end in the log) and preserve (listed until destroyed);
  * `atoll run` beside the daemon (through it: fleet_net.py);
  * (a uid other than the owner's being refused is fleet_not_owner.py, its
    own test, which skips when not root);
  * SIGKILL of the daemon leaves no guest process behind, and a new daemon
    takes over the stale socket; SIGTERM ends every domain and removes it.

Correctness only: the waits are bounded generously and time nothing.

    fleet_daemon.py ATOLL ECHO_IMAGE HELLO_IMAGE CRASH_IMAGE
"""
import json
import os
import pty
import select
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import daemon_lib  # noqa: E402
from daemon_lib import (alive, check, children, create, exists, guests, pooled, start_daemon, verdict, wait_for,
                        write_cfg)

ECHOES = 24
HELLOS = 20

class Atoll(daemon_lib.Atoll):
    """daemon_lib's, with a command prefix (to run as another user) and the
    domains as the daemon lists them."""

    def run(self, *args, stdin=subprocess.DEVNULL, input=None, prefix=(), timeout=60):
        return subprocess.run(list(prefix) + [self.exe] + list(args), capture_output=True, text=True, env=self.env,
                              stdin=None if input is not None else stdin, input=input, timeout=timeout)

    def domains(self):
        r = self.run("list", "--json")
        return json.loads(r.stdout) if r.returncode == 0 else []


def test_verbs_help(atoll):
    for verb in ["daemon", "list", "info", "console", "log", "shutdown", "reboot", "destroy", "pause", "unpause",
                 "xenstore-ls", "xenstore-read", "xenstore-write"]:
        r = atoll.run(verb, "--help")
        check(r.returncode == 0 and verb in r.stdout, f"atoll {verb} --help: {r.returncode} {r.stdout[:80]!r}")
    r = atoll.run("list", "--bogus")
    check(r.returncode == 125 and "Try `atoll list --help`" in r.stderr, f"a bad option is a usage error: {r.stderr!r}")


def test_console_cycles(atoll, name):
    """Attach, type, detach (end of input), three times; then all echoes are there."""
    for k in range(3):
        r = atoll.run("console", name, input=f"cycle-{k}\n")
        check(r.returncode == 0, f"console {name} cycle {k}: {r.returncode} {r.stderr.strip()}")
        check("ready" in r.stdout, f"console {name} shows the history on attach (cycle {k})")
    want = "".join(f"echo: cycle-{k}\n" for k in range(3))
    wait_for(lambda: want in atoll.history(name), f"{name}'s three echoes in its history")


def test_console_terminal(atoll, name):
    """On a terminal: keys go to the guest as typed, Ctrl-] detaches."""
    pid, master = pty.fork()
    if pid == 0:
        os.execve(atoll.exe, [atoll.exe, "console", name], atoll.env)
    seen = b""

    def read_until(marker, timeout=30):
        nonlocal seen
        deadline = time.time() + timeout
        while marker not in seen and time.time() < deadline:
            if select.select([master], [], [], 0.1)[0]:
                try:
                    seen += os.read(master, 4096)
                except OSError:
                    break
        return marker in seen

    check(read_until(b"Ctrl-] detaches"), f"console on a terminal says how to detach: {seen[-200:]!r}")
    os.write(master, b"typed\n")
    check(read_until(b"echo: typed"), f"console on a terminal: the guest echoes what was typed: {seen[-200:]!r}")
    os.write(master, b"\x1d")
    _, status = os.waitpid(pid, 0)
    check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"Ctrl-] detaches with status 0: {status}")
    os.close(master)


def test_pause(atoll, name):
    atoll.ok("pause", name)
    states = {d["name"]: d["state"] for d in atoll.domains()}
    check(states.get(name) == "paused", f"{name} is listed paused: {states.get(name)}")
    r = atoll.run("pause", name)
    check(r.returncode != 0 and "already paused" in r.stderr, f"pausing twice is refused: {r.stderr.strip()}")
    atoll.ok("console", name, input="while-paused\n")
    atoll.ok("unpause", name)
    wait_for(lambda: "echo: while-paused" in atoll.history(name), "the input sent while paused to be echoed after unpause")
    states = {d["name"]: d["state"] for d in atoll.domains()}
    check(states.get(name) in ("running", "blocked"), f"{name} runs again: {states.get(name)}")


def test_xenstore(atoll, xs_path, ids):
    for name, domid in list(ids.items())[:3]:
        r = atoll.ok("xenstore-read", f"/local/domain/{domid}/name")
        check(r.stdout.strip() == name, f"xenstore-read of domain {domid}'s name: {r.stdout!r}")
    atoll.ok("xenstore-write", "/tool/fleet-test", "hello")
    check(atoll.run("xenstore-read", "/tool/fleet-test").stdout.strip() == "hello", "xenstore-write then -read")
    r = atoll.ok("xenstore-ls", "/local/domain")
    check(all(f"\n{d} = " in "\n" + r.stdout for d in ids.values()), "atoll xenstore-ls lists every domain")
    if not shutil.which("xenstore-ls"):
        print("note: xenstore-utils not installed; Debian's tools not checked")
        return
    env = dict(os.environ, XENSTORED_PATH=xs_path)
    r = subprocess.run(["xenstore-ls", "/local/domain"], env=env, capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and all(f"\n{d} = " in "\n" + r.stdout for d in ids.values()),
          f"Debian's xenstore-ls sees every domain: {r.returncode} {r.stderr.strip()}")
    name, domid = next(iter(ids.items()))
    r = subprocess.run(["xenstore-read", f"/local/domain/{domid}/name"], env=env, capture_output=True, text=True)
    check(r.stdout.strip() == name, f"Debian's xenstore-read: {r.stdout!r} {r.stderr.strip()}")


def test_crash_policies(atoll, tmp, crash_image):
    create(atoll, write_cfg(tmp, "crash-restart", crash_image, "on_crash = 'restart'\nmax_restarts = 2\n"))
    create(atoll, write_cfg(tmp, "crash-keep", crash_image, "on_crash = 'preserve'\n"))
    wait_for(lambda: "crash-restart" not in [d["name"] for d in atoll.domains()], "crash-restart to spend its restarts")
    log = atoll.run("log", "crash-restart").stdout
    check(log.count("ended: crash: guest page fault") == 3 and "restart 2 of at most 2 in a row" in log
          and "restarted 2 times in a row; giving up" in log and "NULL pointer dereference" in log,
          f"crash-restart's log: three crashes, two restarts, then given up: {log[-600:]!r}")
    wait_for(lambda: any(d["name"] == "crash-keep" and d["state"] == "preserved" for d in atoll.domains()),
             "crash-keep to be preserved")
    keep = [d for d in atoll.domains() if d["name"] == "crash-keep"]
    check(keep and "crash" in keep[0].get("last_end", ""), f"list says why crash-keep ended: {keep}")
    atoll.ok("destroy", "crash-keep")
    check("crash-keep" not in [d["name"] for d in atoll.domains()], "a preserved domain is destroyed")


def main():
    exe, echo_image, hello_image, crash_image = (os.path.abspath(a) for a in sys.argv[1:5])
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "atoll.sock")
        atoll = Atoll(exe, sock)
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        test_verbs_help(atoll)
        r = atoll.run("list")
        check(r.returncode != 0 and "no atoll daemon is running" in r.stderr, f"list without a daemon: {r.stderr.strip()}")
        daemon = start_daemon(atoll, sock, log)
        info = json.loads(atoll.ok("info", "--json").stdout or "{}")
        check(info.get("pid") == daemon.pid and info.get("domains") == 0, f"info: {info}")
        check(stat.S_IMODE(os.stat(sock).st_mode) == 0o600, "the daemon's socket is mode 0600")

        ids = {}
        for i in range(1, ECHOES + 1):
            ids[f"echo-{i}"] = create(atoll, write_cfg(tmp, f"echo-{i}", echo_image))
        check(list(ids.values()) == list(range(1, ECHOES + 1)), f"ids are 1..{ECHOES} in order: {list(ids.values())}")
        wait_for(lambda: all("ready" in atoll.history(n) for n in list(ids)[:4]), "the first echo domains to boot")
        listed = atoll.domains()
        check(sorted(d["name"] for d in listed) == sorted(ids), f"list --json names every domain: {len(listed)}")
        check(all(d["memory_mib"] == 16 and d["state"] in ("running", "blocked", "starting") for d in listed),
              f"list --json: memory and state: {listed[:2]}")
        text = atoll.ok("list").stdout
        check(re.search(r"^echo-7\s+7\s+16\s+\w+", text, re.M), f"list's text form: {text[:200]!r}")

        test_xenstore(atoll, info.get("xenstore_socket", sock + ".xenstored"), ids)
        test_console_cycles(atoll, "echo-1")
        test_console_terminal(atoll, "echo-6")
        test_pause(atoll, "echo-2")

        r = atoll.run("create", write_cfg(tmp, "echo-7", echo_image))
        check(r.returncode == 125 and "already exists" in r.stderr, f"a duplicate name is refused: {r.stderr.strip()}")

        atoll.ok("reboot", "echo-5")
        wait_for(lambda: any(d["name"] == "echo-5" and d["restarts"] == 1 and d["id"] == 5 for d in atoll.domains())
                 and atoll.history("echo-5").count("ready") == 2, "echo-5 to reboot (on_reboot restart) as id 5")
        check("ended: reboot" in atoll.run("log", "echo-5").stdout, "echo-5's log says it rebooted")

        atoll.ok("shutdown", "-w", "echo-3", timeout=120)
        check("echo-3" not in [d["name"] for d in atoll.domains()], "shutdown -w: echo-3 is gone")
        check("poweroff (status 0)" in atoll.run("log", "echo-3").stdout, "echo-3's log says it powered off")
        atoll.ok("destroy", "echo-4")
        check("echo-4" not in [d["name"] for d in atoll.domains()], "destroy: echo-4 is gone")
        check("destroyed: atoll destroy" in atoll.run("log", "echo-4").stdout, "echo-4's log says it was destroyed")
        check(create(atoll, write_cfg(tmp, "again-a", echo_image)) == 3, "the lowest free id (3) comes back first")
        check(create(atoll, write_cfg(tmp, "again-b", echo_image)) == 4, "then id 4")

        for i in range(HELLOS):
            create(atoll, write_cfg(tmp, f"hello-{i}", hello_image, f"args = [ 'n{i}' ]\n"))
        wait_for(lambda: not any(d["name"].startswith("hello-") for d in atoll.domains()), "the hello domains to power off")
        for i in range(HELLOS):
            r = atoll.run("log", f"hello-{i}")
            check("poweroff (status 0)" in r.stdout and "Hello from Atoll!" in r.stdout and f'"n{i}"' in r.stdout,
                  f"hello-{i}'s log keeps its end and output: {r.stdout[-200:]!r}")

        test_crash_policies(atoll, tmp, crash_image)

        r = atoll.run("run", "--net", "none", hello_image, timeout=60)
        check(r.returncode == 0 and "Hello from Atoll!" in r.stdout, f"atoll run beside the daemon: {r.returncode}")
        r = atoll.run("create", "-F", write_cfg(tmp, "fg", hello_image))
        check(r.returncode == 0 and "Hello from Atoll!" in r.stdout, f"create -F runs in the foreground: {r.stderr.strip()}")


        # SIGKILL: the guests die with the daemon (PR_SET_PDEATHSIG), the loaders
        # it started ahead when their socket closes; nothing is left.
        sealed = guests(daemon.pid)
        check(len(sealed) == len(atoll.domains()) and sealed, f"one process per domain: {len(sealed)}")
        wait_for(lambda: len(pooled(daemon.pid)) == 8, "the daemon's pool of 8 loaders to be full")
        everything = children(daemon.pid)
        check(set(everything) == set(sealed) | set(pooled(daemon.pid)), f"the daemon's children: {everything}")
        daemon.kill()
        daemon.wait()
        wait_for(lambda: not any(alive(p) for p in everything),
                 "every guest process and pooled loader to end after the daemon's SIGKILL")
        check(os.path.exists(sock), "the killed daemon left its socket file (a new one replaces it)")
        r = atoll.run("create", write_cfg(tmp, "stale", echo_image), timeout=30)
        check(r.returncode == 125 and "is gone" in r.stderr and "-F" in r.stderr,
              f"create at a killed daemon's socket fails at once and says so: {r.returncode} {r.stderr.strip()}")
        r = atoll.run("list")
        check(r.returncode != 0 and "is gone" in r.stderr, f"list at a killed daemon's socket: {r.stderr.strip()}")
        daemon = start_daemon(atoll, sock, log)
        check(atoll.domains() == [], "a new daemon starts empty")
        create(atoll, write_cfg(tmp, "last", echo_image))
        everything = children(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        check(daemon.wait(timeout=30) == 0, "SIGTERM stops the daemon with status 0")
        check(not os.path.exists(sock), "SIGTERM removes the socket")
        wait_for(lambda: not any(exists(p) for p in everything), "the last domain and the pool to end with the daemon")
        log.seek(0)
        daemon_log = log.read()
    return verdict("fleet daemon", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
