#!/usr/bin/env python3
"""Only the daemon's owner (and root) may use it (docs/fleet.md): run as root,
this starts a daemon and asks it, as `nobody`, to list and to destroy:

  * refused by the socket's mode (0600) when nobody can reach its name;
  * refused by SO_PEERCRED, with the uid in the message, when the socket's mode
    has been opened up by mistake;
  * the domain nobody tried to destroy still runs.

Skips (77) when not root: switching to another uid needs root here.

    fleet_not_owner.py ATOLL IDLE_IMAGE
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

from daemon_lib import Atoll, check, create, skip, start_daemon, stop_daemon, verdict, write_cfg


def main():
    exe, idle = (os.path.abspath(a) for a in sys.argv[1:3])
    if os.getuid() != 0:
        skip("not root: asking the daemon as another uid needs root (setpriv)")
    if not shutil.which("setpriv"):
        skip("setpriv (util-linux) is not installed")
    as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", exe]
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "atoll.sock")
        atoll = Atoll(exe, sock)
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        daemon = start_daemon(atoll, sock, log)

        def nobody(*args):
            return subprocess.run(as_nobody + list(args), capture_output=True, text=True, env=atoll.env,
                                  stdin=subprocess.DEVNULL, timeout=60)

        create(atoll, write_cfg(tmp, "mine", idle))
        check(stat.S_IMODE(os.stat(sock).st_mode) == 0o600, "the socket is mode 0600")
        os.chmod(tmp, 0o711)  # nobody may reach the socket's name, not its contents
        r = nobody("list")
        check(r.returncode != 0 and "permission denied" in r.stderr.lower(),
              f"nobody is refused by the socket's mode: {r.returncode} {r.stderr.strip()}")
        os.chmod(sock, 0o666)  # as if opened up by mistake: SO_PEERCRED still refuses
        r = nobody("list")
        check(r.returncode != 0 and "uid 65534 may not use the atoll daemon" in r.stderr,
              f"nobody is refused by SO_PEERCRED: {r.returncode} {r.stderr.strip()}")
        r = nobody("destroy", "mine")
        check(r.returncode != 0 and "may not use the atoll daemon" in r.stderr,
              f"nobody cannot destroy a domain: {r.returncode} {r.stderr.strip()}")
        check(list(atoll.domains()) == ["mine"], "the owner's domain still runs")
        os.chmod(tmp, 0o700)
        daemon_log = stop_daemon(daemon, log)
    return verdict("fleet not-owner (refused by the socket's mode and by SO_PEERCRED)", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
