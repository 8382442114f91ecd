#!/usr/bin/env python3
"""The daemon-wide signing policy (docs/fleet.md, "Signed images only"):
`atoll daemon --trusted-keys DIR` creates only images signed by a key in DIR.

  * an image signed by a trusted key is created and boots;
  * a bare ELF, an unsigned sealed image and one signed by another key are
    refused, each with its own message, and no domain is left behind;
  * a create that names other --trusted-keys is refused (the policy is not
    the client's to point elsewhere);
  * `info --json` shows the policy; a daemon given a directory with no key,
    or --require-signed alone, does not start.

    fleet_signing.py ATOLL HELLO_ELF
"""
import json
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fleet_daemon import Atoll, check, failures, start_daemon, wait_for, write_cfg  # noqa: E402


def raw_request(sock, request):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.connect(sock)
        s.sendall((json.dumps(request) + "\n").encode())
        data = b""
        while not data.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data or b"{}")


def main():
    exe, hello = (os.path.abspath(a) for a in sys.argv[1:3])
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "atoll.sock")
        atoll = Atoll(exe, sock)
        trusted, other = os.path.join(tmp, "trusted"), os.path.join(tmp, "other")
        os.mkdir(trusted)
        os.mkdir(other)
        atoll.ok("keygen", "-o", os.path.join(trusted, "release"))
        atoll.ok("keygen", "-o", os.path.join(other, "stranger"))
        unsigned = os.path.join(tmp, "unsigned.img")
        atoll.ok("seal", hello, "-o", unsigned)
        images = {}
        for name, key in [("good", os.path.join(trusted, "release.key")), ("stranger", os.path.join(other, "stranger.key"))]:
            images[name] = os.path.join(tmp, name + ".img")
            with open(unsigned, "rb") as src, open(images[name], "wb") as dst:
                dst.write(src.read())
            atoll.ok("sign", "--key", key, images[name])

        empty = os.path.join(tmp, "empty")
        os.mkdir(empty)
        r = atoll.run("daemon", "--socket", sock, "--trusted-keys", empty)
        check(r.returncode == 125 and "holds no public key" in r.stderr, f"a key directory with no key: {r.stderr.strip()}")
        r = atoll.run("daemon", "--socket", sock, "--require-signed")
        check(r.returncode == 125 and "needs --trusted-keys" in r.stderr, f"--require-signed alone: {r.stderr.strip()}")

        log = open(os.path.join(tmp, "daemon.log"), "w+")
        d = subprocess.Popen([exe, "daemon", "--socket", sock, "--trusted-keys", trusted], stdin=subprocess.DEVNULL,
                             stdout=log, stderr=log, env=atoll.env)
        wait_for(lambda: atoll.run("info").returncode == 0 or d.poll() is not None, "the daemon to answer")
        try:
            info = json.loads(atoll.ok("info", "--json").stdout or "{}")
            check(info.get("require_signed") is True and info.get("trusted_keys") == os.path.realpath(trusted),
                  f"info shows the policy: {info}")
            refusals = {
                "bare": (hello, "not a sealed image"),
                "unsigned": (unsigned, "unsigned"),
                "stranger": (images["stranger"], "not among the trusted keys"),
            }
            for name, (kernel, why) in refusals.items():
                r = atoll.run("create", write_cfg(tmp, name, kernel))
                check(r.returncode == 125 and why in r.stderr, f"{name} is refused ({why!r}): {r.stderr.strip()}")
            # What `create` sends, by hand: the CLI has no flag for it, a client could.
            answer = raw_request(sock, {"verb": "create", "args": ["--trusted-keys", other, images["stranger"]]})
            check(not answer.get("ok") and "accepts only images signed by a key in" in answer.get("error", ""),
                  f"a create naming other keys is refused: {answer}")
            check(atoll.domains() == [], f"no domain was left behind: {atoll.domains()}")
            r = atoll.run("create", write_cfg(tmp, "good", images["good"], "on_poweroff = 'preserve'\n"))
            check(r.returncode == 0, f"the trusted image is created: {r.stderr.strip()}")
            wait_for(lambda: "Hello from Atoll!" in atoll.history("good"), "the signed hello to boot")
        finally:
            d.terminate()
            d.wait(timeout=60)
        log.seek(0)
        daemon_log = log.read()
    if failures:
        print(f"{len(failures)} failure(s); the daemon's log:\n{daemon_log[-4000:]}")
        return 1
    print("fleet_signing: PASSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
