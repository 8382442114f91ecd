#!/usr/bin/env python3
"""The toolstack's way to stop a guest: writing control/shutdown from the host
with Debian's xenstore-write (through atoll's xenstore socket) powers a running
guest off cleanly (exit 0, its buffered output flushed) or reboots it.

    control_shutdown.py ATOLL IMAGE
Skips (exit 77) when xenstore-utils is not installed.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time


def run_case(atoll, image, request, expect_status, expect_stderr):
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "xs.sock")
        p = subprocess.Popen([atoll, "run", "--xenstore-socket", sock, "--max-restarts", "0", image],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        env = dict(os.environ, XENSTORED_PATH=sock)
        deadline = time.time() + 10
        # Wait until the guest is up: its console says "ready".
        while time.time() < deadline:
            r = subprocess.run(["xenstore-read", "/local/domain/1/name"], env=env, capture_output=True, text=True)
            if r.returncode == 0:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        w = subprocess.run(["xenstore-write", "/local/domain/1/control/shutdown", request], env=env,
                           capture_output=True, text=True)
        if w.returncode != 0:
            p.kill()
            return f"xenstore-write failed: {w.stderr.strip()}"
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return f"{request}: the guest did not stop within 10 s; stderr: {err}"
        print(f"--- {request}: status {p.returncode}\n{out}{err}")
        if p.returncode != expect_status:
            return f"{request}: exit status {p.returncode}, expected {expect_status}"
        if "ready" not in out:
            return f"{request}: the guest's output was lost"
        if expect_stderr and expect_stderr not in err:
            return f"{request}: stderr lacks {expect_stderr!r}"
        return None


def main():
    if not shutil.which("xenstore-write") or not shutil.which("xenstore-read"):
        print("xenstore-utils is not installed: skipping")
        return 77
    atoll, image = sys.argv[1], sys.argv[2]
    problems = [x for x in (run_case(atoll, image, "poweroff", 0, None),
                            run_case(atoll, image, "reboot", 128, "reboot")) if x]
    for problem in problems:
        print("FAILED: " + problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
