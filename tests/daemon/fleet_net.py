#!/usr/bin/env python3
"""Networking under the daemon, and `atoll run` through a running daemon
(docs/fleet.md), end to end with real guests and real clients:

  * two appliances on one of the daemon's switches: httpd-demo serves, and a
    client appliance (net_probe http) fetches /index.html from it and checks
    every byte (length and FNV-1a hash) while both run; Debian's xenstore-ls,
    pointed at the daemon's store, shows both domains' vif nodes, connected;
  * user networking: httpd-demo with a hostfwd answers curl (libslirp with the
    hypervisor's TCP forwards, and passt when it is installed; destroying the
    passt domain stops and reaps its passt, and the port serves the next);
  * a host port another domain forwards already, or a port some other process
    holds, is a create error, and nothing of the domain is left running;
  * one domain's uplink dying (its atoll-slirp killed) is that vif's alone:
    the others serve on; a restart keeps a domain's helper and port;
    destroying a domain stops and reaps its helper;
  * `atoll run` through the daemon: output, exit status, typing, the domain
    listed while it runs, Ctrl-C and SIGTERM destroy it (status 130), -p
    publishes, relative paths are the caller's, a second run of one image gets
    a name of its own, --busy-poll asks for --no-daemon, --no-daemon works;
  * SIGKILL of the daemon leaves no guest, atoll-slirp or passt process
    behind, and no switch process was ever started.

Every daemon here is on its own socket (ATOLL_SOCKET), and the host ports are
32040-32049. Correctness only: waits are bounded generously and time nothing.

    fleet_net.py ATOLL HTTPD_DEMO NET_PROBE HELLO ECHO EXIT_STATUS SITE_INDEX
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from daemon_lib import Atoll, alive, check, children, comm, curl, exists, fnv1a, pooled, start_daemon, verdict, wait_for

PORT_USER, PORT_PASST, PORT_HELD, PORT_RUN = 32040, 32041, 32042, 32043

def helpers(daemon_pid):
    return {p: comm(p) for p in children(daemon_pid) if comm(p) in ("atoll-slirp", "passt", "passt.avx2")}


def test_switch(atoll, tmp, httpd, probe, index, xs_path):
    lan = f"lan{os.getpid()}"
    r = atoll.create(tmp, "web", httpd, [f"switch={lan},ip=10.79.0.1/24"])
    check(r.returncode == 0, f"create web on switch {lan}: {r.stderr.strip()}")
    wait_for(lambda: "httpd: serving" in atoll.history("web"), "httpd on the switch to serve")
    args = f"args = [ 'http', '10.79.0.1', '80', '/index.html', '{len(index)}', '{fnv1a(index):08x}', 'hold' ]\n"
    r = atoll.create(tmp, "client", probe, [f"switch={lan},ip=10.79.0.2/24"], args)
    check(r.returncode == 0, f"create client on switch {lan}: {r.stderr.strip()}")
    wait_for(lambda: "net_probe: " in atoll.history("client"), "the client appliance to fetch from httpd", timeout=90)
    h = atoll.history("client")
    check("net_probe: PASSED" in h and f"{len(index)} bytes" in h,
          f"the client appliance got index.html from httpd over the switch, every byte: {h[-400:]!r}")
    check("GET /index.html" in atoll.history("web"), "httpd logged the client appliance's request")
    ids = {n: d["id"] for n, d in atoll.domains().items() if n in ("web", "client")}
    check(len(ids) == 2, f"both appliances are listed: {ids}")
    if not shutil.which("xenstore-ls"):
        print("note: xenstore-utils not installed; Debian's xenstore-ls not checked")
        return lan
    env = dict(os.environ, XENSTORED_PATH=xs_path)
    for name, domid in ids.items():
        r = subprocess.run(["xenstore-ls", f"/local/domain/{domid}/device/vif/0"], env=env, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0 and re.search(r'^state = "4"', r.stdout, re.M) and "mac = " in r.stdout,
              f"xenstore-ls shows {name}'s vif connected: {r.returncode} {r.stdout[:300]!r} {r.stderr.strip()}")
        r = subprocess.run(["xenstore-ls", f"/local/domain/0/backend/vif/{domid}/0"], env=env, capture_output=True,
                           text=True, timeout=30)
        check(r.returncode == 0 and re.search(r'^state = "4"', r.stdout, re.M),
              f"xenstore-ls shows {name}'s vif backend connected: {r.returncode} {r.stderr.strip()}")
    return lan


def test_user(atoll, tmp, httpd, index, daemon_pid):
    """hostfwd through libslirp + the hypervisor's forwards, and through passt."""
    r = atoll.create(tmp, "pub", httpd, [f"user,hostfwd=tcp:127.0.0.1:{PORT_USER}-:80"])
    check(r.returncode == 0, f"create pub (user networking): {r.stderr.strip()}")
    wait_for(lambda: curl(PORT_USER) is not None, f"curl of port {PORT_USER}")
    check(curl(PORT_USER) == index, f"curl 127.0.0.1:{PORT_USER} gets index.html from the daemon's domain")
    if shutil.which("passt"):
        passts = []
        for attempt in ("first", "again"):
            r = atoll.create(tmp, "pst", httpd, [f"user,backend=passt,hostfwd=tcp:127.0.0.1:{PORT_PASST}-:80"])
            check(r.returncode == 0, f"create pst (passt, {attempt}): {r.stderr.strip()}")
            wait_for(lambda: curl(PORT_PASST) is not None, f"curl of port {PORT_PASST} (passt, {attempt})")
            check(curl(PORT_PASST) == index, f"curl through passt gets index.html ({attempt})")
            passts = [p for p, c in helpers(daemon_pid).items() if c.startswith("passt")]
            check(len(passts) == 1, f"one passt, the daemon's child: {helpers(daemon_pid)}")
            if attempt == "first":
                atoll.run("destroy", "pst")
                check(passts and not exists(passts[0]), f"destroy stops and reaps the domain's passt: {passts}")
    else:
        print("note: passt not installed; backend=passt not checked")
    before = set(children(daemon_pid)) - set(pooled(daemon_pid))
    # A port a running domain forwards already.
    r = atoll.create(tmp, "pub-again", httpd, [f"user,hostfwd=tcp:127.0.0.1:{PORT_USER}-:80"])
    check(r.returncode == 125 and "forwards it already" in r.stderr and "pub" in r.stderr,
          f"a port another domain forwards is refused: {r.returncode} {r.stderr.strip()}")
    # A port some other process holds.
    held = socket.socket()
    held.bind(("127.0.0.1", PORT_HELD))
    held.listen()
    r = atoll.create(tmp, "pub-held", httpd, [f"user,hostfwd=tcp:127.0.0.1:{PORT_HELD}-:80"])
    held.close()
    check(r.returncode == 125 and f"{PORT_HELD}" in r.stderr and "in use" in r.stderr,
          f"a port held elsewhere is refused: {r.returncode} {r.stderr.strip()}")
    names = atoll.domains()
    check("pub-again" not in names and "pub-held" not in names, "the refused domains are not listed")
    after = set(children(daemon_pid)) - set(pooled(daemon_pid))
    check(after == before, f"nothing of a refused domain runs: {before} -> {after}")


def test_uplink_failure(atoll, tmp, httpd, daemon_pid, index, log):
    """pub's atoll-slirp dies: pub's vif loses its uplink (its published port
    stays: the daemon serves it), and nobody else notices."""
    slirps = [p for p, c in helpers(daemon_pid).items() if c == "atoll-slirp"]
    check(len(slirps) == 1, f"one atoll-slirp (pub's): {helpers(daemon_pid)}")
    if not slirps:
        return
    os.kill(slirps[0], signal.SIGKILL)

    def said():
        log.seek(0)
        return f"vif 0: the uplink (user networking (atoll-slirp pid {slirps[0]})) went away" in log.read()
    wait_for(said, "the daemon to notice pub's uplink went away")
    check(curl(PORT_USER) == index, "pub's published port is still served (by the daemon, not the helper)")
    if "pst" in atoll.domains():
        check(curl(PORT_PASST) == index, "passt's domain still serves after pub's helper died")
    check("pub" in atoll.domains() and "web" in atoll.domains(), "every domain is still listed")
    r = atoll.run("destroy", "pub")
    check(r.returncode == 0, f"destroy pub: {r.stderr.strip()}")
    wait_for(lambda: not exists(slirps[0]), "pub's dead helper to be reaped")
    r = atoll.create(tmp, "pub", httpd, [f"user,hostfwd=tcp:127.0.0.1:{PORT_USER}-:80"])
    check(r.returncode == 0, f"the port is free for a new domain once pub is gone: {r.stderr.strip()}")
    wait_for(lambda: curl(PORT_USER) == index, "the new pub to serve")
    slirp = [p for p, c in helpers(daemon_pid).items() if c == "atoll-slirp"]
    # A restart keeps the domain's uplinks: the same helper, the same port.
    r = atoll.run("reboot", "pub")
    check(r.returncode == 0, f"reboot pub: {r.stderr.strip()}")
    wait_for(lambda: atoll.domains().get("pub", {}).get("restarts") == 1 and atoll.history("pub").count("httpd: serving") == 2,
             "pub to restart")
    wait_for(lambda: curl(PORT_USER) == index, "pub to serve again after its restart")
    check([p for p, c in helpers(daemon_pid).items() if c == "atoll-slirp"] == slirp,
          f"the restarted pub has the same atoll-slirp: {slirp} {helpers(daemon_pid)}")
    atoll.run("destroy", "pub")
    check(len(slirp) == 1 and not exists(slirp[0]), f"destroy stops and reaps the domain's atoll-slirp: {slirp}")


def test_run(atoll, tmp, httpd, hello, echo, exit_image, index):
    r = atoll.run("run", "--net", "none", hello, "--", "one", "two")
    check(r.returncode == 0 and "Hello from Atoll!" in r.stdout and '"two"' in r.stdout,
          f"atoll run through the daemon: output and status: {r.returncode} {r.stdout[-200:]!r} {r.stderr.strip()}")
    check("hello" in atoll.run("log", "hello").stdout, "the run was the daemon's (its log has it)")
    r = atoll.run("run", exit_image, "--", "42")
    check(r.returncode == 42 and "exiting with 42" in r.stdout, f"the guest's exit status: {r.returncode}")
    r = atoll.run("run", "--net", "none", os.path.basename(hello), cwd=os.path.dirname(hello))
    check(r.returncode == 0 and "Hello from Atoll!" in r.stdout, f"a relative image path is the caller's: {r.stderr.strip()}")
    r = atoll.run("run", "--busy-poll", "0", hello)
    check(r.returncode == 125 and "--no-daemon" in r.stderr, f"--busy-poll under the daemon asks for --no-daemon: {r.stderr.strip()}")
    r = atoll.run("run", "--no-daemon", "--busy-poll", "0", "--net", "none", "-n", "fg-only", hello)
    check(r.returncode == 0 and "Hello from Atoll!" in r.stdout, f"--no-daemon runs it here: {r.stderr.strip()}")
    check(atoll.run("log", "fg-only").returncode != 0, "a --no-daemon run is not the daemon's")

    # Typing, listing, Ctrl-C; a second run of the same image beside it.
    first = atoll.popen("run", echo, stdin=subprocess.PIPE)
    second = atoll.popen("run", echo, stdin=subprocess.DEVNULL)
    name = os.path.basename(echo)
    wait_for(lambda: {name, name + "-2"} <= set(atoll.domains()), "both runs to be listed")
    first.stdin.write(b"typed line\n")
    first.stdin.flush()
    wait_for(lambda: "echo: typed line" in atoll.history(name) or "echo: typed line" in atoll.history(name + "-2"),
             "the typed line to be echoed")
    first.send_signal(signal.SIGINT)
    out, err = first.communicate(timeout=30)
    check(first.returncode == 130 and b"echo: typed line" in out, f"Ctrl-C: status 130, output kept: {first.returncode} {out[-200:]!r}")
    second.send_signal(signal.SIGTERM)
    second.communicate(timeout=30)
    check(second.returncode == 130, f"SIGTERM: status 130: {second.returncode}")
    wait_for(lambda: not ({name, name + "-2"} & set(atoll.domains())), "both runs' domains to be destroyed")

    # -p through the daemon.
    web = atoll.popen("run", httpd, "-p", f"{PORT_RUN}:80")
    wait_for(lambda: curl(PORT_RUN) is not None, f"curl of `atoll run -p {PORT_RUN}:80` through the daemon")
    check(curl(PORT_RUN) == index, "atoll run -p through the daemon serves index.html")
    check(any(d["state"] != "preserved" for n, d in atoll.domains().items() if n.startswith("httpd-demo")),
          "the run's domain is listed")
    web.send_signal(signal.SIGINT)
    web.communicate(timeout=30)
    check(web.returncode == 130, f"the -p run ends with 130 on Ctrl-C: {web.returncode}")
    check(curl(PORT_RUN) is None, "its port is closed with it")
    wait_for(lambda: not any(n.startswith("httpd-demo") for n in atoll.domains()), "the -p run's domain to go")


def main():
    exe, httpd, probe, hello, echo, exit_image, index_path = (os.path.abspath(a) for a in sys.argv[1:8])
    if not shutil.which("curl"):
        print("SKIP: curl is not installed")
        return 77
    with open(index_path, "rb") as f:
        index = f.read()
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "atoll.sock")
        atoll = Atoll(exe, sock)
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        daemon = start_daemon(atoll, sock, log)
        info = json.loads(atoll.run("info", "--json").stdout or "{}")
        try:
            lan = test_switch(atoll, tmp, httpd, probe, index, info.get("xenstore_socket", sock + ".xenstored"))
            test_user(atoll, tmp, httpd, index, daemon.pid)
            test_uplink_failure(atoll, tmp, httpd, daemon.pid, index, log)
            test_run(atoll, tmp, httpd, hello, echo, exit_image, index)

            # SIGKILL: every guest and helper goes with the daemon.
            r = atoll.create(tmp, "last", httpd, ["user"])
            check(r.returncode == 0, f"create last (user networking): {r.stderr.strip()}")
            procs = {p: comm(p) for p in children(daemon.pid)}
            check("atoll-slirp" in procs.values(), f"an atoll-slirp is the daemon's child: {procs}")
            print("the daemon's processes before SIGKILL:", sorted(procs.values()))
            check(len(procs) >= 3 and "client" in atoll.domains(), f"the daemon's processes before SIGKILL: {procs}")
            if shutil.which("passt"):
                check(any(c.startswith("passt") for c in procs.values()), f"passt is the daemon's child: {procs}")
            daemon.kill()
            daemon.wait()
            wait_for(lambda: not any(alive(p) for p in procs), "every guest and helper to end with the daemon")
            left = {p: c for p, c in procs.items() if alive(p)}
            check(not left, f"nothing is left after the daemon's SIGKILL: {left}")
            check(not os.path.exists(f"/tmp/atoll-{os.getuid()}/switch-{lan}"), "no switch process was started")
        finally:
            if daemon.poll() is None:
                daemon.kill()
                daemon.wait()
        log.seek(0)
        return verdict("fleet networking", log.read())


if __name__ == "__main__":
    sys.exit(main())
