"""Whether this host lets a test make a TAP device in a new network namespace.

The TAP tests re-run themselves inside `unshare --net`; first they ask here,
and skip (exit 77) with the reason when the answer is no.
"""
import os
import shutil
import subprocess


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
