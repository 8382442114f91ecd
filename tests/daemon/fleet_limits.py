#!/usr/bin/env python3
"""`atoll top` and the CPU cap under the daemon (docs/fleet.md, "Resource
limits" and "atoll top"), with real guests:

  * a guest that spins without a hypercall, created with `cpu_cap = 10`, is
    held to its share: over a window of several seconds its CPU time (the
    kernel's, /proc/PID/schedstat) stays below 10% of the window plus what
    the cap lets through at its edges (one period of saved-up credit, one
    period before the throttle notices); `top` shows it throttled;
  * meanwhile a console-echo domain on the same daemon answers its console,
    and an uncapped config key is refused with the file, line and key;
  * a guest writing its whole 16 MiB disk and flushing shows the bytes, the
    writes and the flushes in `top --json`'s per-disk counters, and its
    hypercall and event rates;
  * `top -b -n 1` prints a frame with every domain, and `top --help` works.

Only upper bounds are asserted on CPU time (a loaded machine gives the
spinner less, never more), and the waits time nothing.

  * max_connections = 8 on an httpd with a forwarded port: with 8 kept-alive
    connections open the 9th is reset, the 8 go on, another httpd on the
    same daemon serves, and once the 8 close new connections are accepted.

    fleet_limits.py ATOLL SPIN_IMAGE ECHO_IMAGE BLK_DISK_IMAGE HTTPD_IMAGE
"""
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from daemon_lib import check, curl, start_daemon, verdict, wait_for  # noqa: E402
from fleet_daemon import Atoll, create, write_cfg  # noqa: E402

PORT_CAPPED, PORT_OTHER = 32971, 32972
CONNECTIONS = 8
CAP = 10
WINDOW_S = 5.0
# The cap lets through at most one period (100 ms) of saved credit and one
# period of running before the throttle's next look; the rest is slack for a
# late timer on a loaded machine.
EDGE_S = 0.5


def top_json(atoll, frames=1, delay=0.5):
    r = atoll.run("top", "--json", "-n", str(frames), "-d", str(delay))
    check(r.returncode == 0, f"top --json: {r.returncode} {r.stderr.strip()}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def domain_in(frame, name):
    return next((d for d in frame["domains"] if d["name"] == name), None)


def test_cap(atoll, tmp, spin_image, echo_image):
    create(atoll, write_cfg(tmp, "spin", spin_image, f"cpu_cap = {CAP}\n"))
    create(atoll, write_cfg(tmp, "echo", echo_image))
    wait_for(lambda: "spinning" in atoll.history("spin") and "ready" in atoll.history("echo"), "both domains to boot")

    # Held at least once (this waits for the spinner to have run, however loaded the machine is).
    def throttled():
        d = domain_in(top_json(atoll)[-1], "spin")
        return d is not None and d["throttled_s"] > 0
    wait_for(throttled, "the spinner to be held by its cap", timeout=300)

    first = domain_in(top_json(atoll)[-1], "spin")
    t0 = time.monotonic()
    time.sleep(WINDOW_S)
    last = domain_in(top_json(atoll)[-1], "spin")
    window = time.monotonic() - t0 + 1.0  # + the two frames' own intervals
    used = last["cpu_s"] - first["cpu_s"]
    print(f"spin: {used:.2f} s of CPU in {window:.2f} s with cpu_cap {CAP}", flush=True)
    check(used <= window * CAP / 100 + EDGE_S, f"the spinner stays within its cap: {used:.2f} s in {window:.2f} s")
    check(last["cpu_cap"] == CAP and last["state"] in ("running", "blocked"), f"top shows the cap: {last}")

    # The rest of the fleet goes on: the echo domain answers at once.
    r = atoll.run("console", "echo", input="still here\n", timeout=60)
    check(r.returncode == 0, f"console echo: {r.returncode} {r.stderr.strip()}")
    wait_for(lambda: "echo: still here" in atoll.history("echo"), "the echo domain to answer beside the spinner")

    bad = os.path.join(tmp, "bad.cfg")
    with open(bad, "w") as f:
        f.write(f"name = 'bad'\nkernel = '{spin_image}'\nvif = []\ncpu_cap = 250\n")
    r = atoll.run("create", bad)
    check(r.returncode == 125 and "bad.cfg:4: cpu_cap:" in r.stderr, f"cpu_cap 250 is refused: {r.stderr.strip()}")
    atoll.ok("destroy", "spin")


def test_disk_counters(atoll, tmp, blk_image):
    disk = os.path.join(tmp, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(16 << 20)
    create(atoll, write_cfg(tmp, "disk", blk_image, f"disk = [ 'target={disk}' ]\nargs = [ 'durable' ]\n"))
    wait_for(lambda: "blk_disk: flushed" in atoll.history("disk"), "the disk guest to write and flush", timeout=300)
    check("FAILED" not in atoll.history("disk"), "the disk guest's writes succeeded")
    d = domain_in(top_json(atoll)[-1], "disk")
    check(d is not None and len(d["disks"]) == 1, f"top lists the disk: {d}")
    if d and d["disks"]:
        k = d["disks"][0]
        check(k["name"] == "xvda" and k["write_bytes"] >= 16 << 20 and k["writes"] > 0, f"writes counted: {k}")
        check(k["flushes"] >= 3 and k["errors"] == 0, f"flushes counted, no errors: {k}")
        check(d["hypercalls"] > 0 and d["rss_bytes"] > 0 and d["memory_bytes"] == 16 << 20, f"domain counters: {d}")


def http_get(sock):
    """One request on a kept-alive connection; True when a whole reply came."""
    sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            return False
        body += chunk
    return head.startswith(b"HTTP/1.1 200")


def reset_at_once(port):
    """Connects and waits for the first byte: True when the peer resets (the
    reset may come so soon that connect() itself reports it)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=60)
    except ConnectionResetError:
        return True
    try:
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: t\r\n\r\n")
        return s.recv(1) == b""  # a reset may also read as the end
    except (ConnectionResetError, BrokenPipeError):
        return True
    finally:
        s.close()


def test_connection_cap(atoll, tmp, httpd):
    """max_connections: the (N+1)th forwarded connection is reset while N are
    open, the N go on, a neighbour serves, and closing them frees the room."""
    def web_cfg(name, port, extra=""):
        path = os.path.join(tmp, name + ".cfg")
        with open(path, "w") as f:
            f.write(f"name = '{name}'\nkernel = '{httpd}'\nvif = [ 'user,hostfwd=tcp:127.0.0.1:{port}-:80' ]\n{extra}")
        return path
    create(atoll, web_cfg("capped-web", PORT_CAPPED, f"max_connections = {CONNECTIONS}\n"))
    create(atoll, web_cfg("other-web", PORT_OTHER))
    for port in (PORT_CAPPED, PORT_OTHER):
        wait_for(lambda: curl(port) is not None, f"httpd on port {port} to answer", timeout=120)
    held = [socket.create_connection(("127.0.0.1", PORT_CAPPED), timeout=60) for _ in range(CONNECTIONS)]
    # The daemon accepts in order, so these are the connections it holds.
    check(all(http_get(s) for s in held), f"{CONNECTIONS} kept-alive connections are served")
    check(reset_at_once(PORT_CAPPED), f"connection {CONNECTIONS + 1} is reset")
    check(all(http_get(s) for s in held), "the held connections go on after the refusal")
    check(curl(PORT_OTHER) is not None, "the other domain serves meanwhile")
    for s in held:
        s.close()
    wait_for(lambda: curl(PORT_CAPPED) is not None, "a new connection once the held ones are closed", timeout=120)
    atoll.ok("destroy", "capped-web")
    atoll.ok("destroy", "other-web")


def main():
    exe, spin_image, echo_image, blk_image, httpd = (os.path.abspath(a) for a in sys.argv[1:6])
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "atoll.sock")
        atoll = Atoll(exe, sock)
        r = atoll.run("top", "--help")
        check(r.returncode == 0 and "--batch" in r.stdout and "--json" in r.stdout, f"top --help: {r.stdout[:200]!r}")
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        daemon = start_daemon(atoll, sock, log)
        try:
            test_cap(atoll, tmp, spin_image, echo_image)
            test_disk_counters(atoll, tmp, blk_image)
            test_connection_cap(atoll, tmp, httpd)
            r = atoll.run("top", "-b", "-n", "1", "-d", "0.2")
            check(r.returncode == 0 and "NAME" in r.stdout and "echo" in r.stdout and "xvda" in r.stdout,
                  f"top -b: {r.stdout[:400]!r}")
        finally:
            daemon.terminate()
            daemon.wait(timeout=60)
        log.seek(0)
        daemon_log = log.read()
    return verdict("fleet_limits", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
