"""Whether this host lets a test make a TAP device in a new network namespace.

The TAP tests re-run themselves inside `unshare --net`; first they ask here,
and skip (exit 77) with the reason when the answer is no.
"""
import os
import shutil
import subprocess
import sys


def tap_unavailable(*tools):
    """None when root can create a TAP in a fresh namespace with `unshare` and
    `ip` (and `tools`) on PATH; otherwise why not."""
    needed = ("unshare", "ip") + tools
    if os.geteuid() != 0 or not os.path.exists("/dev/net/tun") or not all(shutil.which(t) for t in needed):
        return "needs root, /dev/net/tun, " + ", ".join(needed)
    probe = subprocess.run(["unshare", "--net", "ip", "tuntap", "add", "probe0", "mode", "tap"], capture_output=True)
    if probe.returncode != 0:
        return "cannot create a TAP device in a new network namespace: " + probe.stderr.decode().strip()
    return None


def make_tap(name, host_cidr):
    """Inside a fresh namespace: loopback up, and a TAP `name` holding the
    host's end of the link, `host_cidr` (e.g. "10.1.0.1/24"), up."""
    for cmd in (["ip", "link", "set", "lo", "up"], ["ip", "tuntap", "add", name, "mode", "tap"],
                ["ip", "addr", "add", host_cidr, "dev", name], ["ip", "link", "set", name, "up"]):
        subprocess.run(cmd, check=True, capture_output=True)


def run_in_new_netns(script, *args):
    """Runs `script` (a test file) again with `args` under `unshare --net`, as
    the TAP tests do once tap_unavailable() said yes; its exit status."""
    return subprocess.run(["unshare", "--net", sys.executable, os.path.abspath(script), *args]).returncode
