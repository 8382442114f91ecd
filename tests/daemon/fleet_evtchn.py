#!/usr/bin/env python3
"""Event channels between two domains of one daemon (docs/fleet.md, "Event
channels between domains"): domain 1 allocates a port for domain 2 (and a
spare one for domain 3), domain 2 binds it and makes 1,000 round trips; a
port meant for another domain, a domain that does not exist and a second
bind are refused. Then a second pair takes the same ids again (they come
back once free) and binds afresh: nothing of the first pair's channel is
left in the way.

usage: fleet_evtchn.py ATOLL EVTCHN_PEER_IMAGE"""
import os
import re
import sys
import tempfile

from daemon_lib import check, daemon_in, stop_daemon, verdict, wait_for


def main():
    exe, peer = (os.path.abspath(a) for a in sys.argv[1:3])
    with tempfile.TemporaryDirectory() as tmp:
        atoll, log, daemon = daemon_in(tmp, exe)

        r = atoll.create(tmp, "server", peer, [], "args = [ 'serve', '2', '3' ]\n")
        check(r.returncode == 0, f"create server: {r.stderr.strip()}")
        wait_for(lambda: re.search(r"ports \d+ \d+", atoll.history("server")), "the server to print its ports")
        port, spare = re.search(r"ports (\d+) (\d+)", atoll.history("server")).groups()
        check(atoll.domains()["server"]["id"] == 1, "the server is domain 1")

        r = atoll.create(tmp, "caller", peer, [], f"args = [ 'call', '1', '{port}', '{spare}' ]\n")
        check(r.returncode == 0, f"create caller: {r.stderr.strip()}")
        wait_for(lambda: "caller" not in atoll.domains() and "server" not in atoll.domains(),
                 "both domains to finish their round trips and power off", timeout=120)
        for name in ("server", "caller"):
            out = atoll.run("log", name).stdout
            print(f"--- {name}\n{out}")
            check("ended: poweroff (status 0)" in out and f"evtchn_peer {'serve' if name == 'server' else 'call'}: PASSED" in out,
                  f"{name} passed its checks and powered off with status 0")
        check("round trip between domains:" in atoll.run("log", "caller").stdout, "the caller timed its round trips")

        # The ids come back; the channels of the domains that had them do not.
        r = atoll.create(tmp, "server2", peer, [], "args = [ 'serve', '2', '3' ]\n")
        wait_for(lambda: re.search(r"ports \d+ \d+", atoll.history("server2")), "a second server to print its ports")
        port2, spare2 = re.search(r"ports (\d+) (\d+)", atoll.history("server2")).groups()
        r = atoll.create(tmp, "caller2", peer, [], f"args = [ 'call', '1', '{port2}', '{spare2}' ]\n")
        wait_for(lambda: "caller2" not in atoll.domains(), "the second caller to finish", timeout=120)
        check("evtchn_peer call: PASSED" in atoll.run("log", "caller2").stdout,
              "a new domain 2 binds the new domain 1's port (ids came back, channels did not)")
        daemon_log = stop_daemon(daemon, log)
    return verdict("event channels between domains", daemon_log)


if __name__ == "__main__":
    sys.exit(main())
