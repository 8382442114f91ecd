#!/usr/bin/env python3
"""Connection churn against the httpd appliance: 20,000 short connections from
ab (HTTP/1.0, a new connection per request) and from h2load (HTTP/1.1 with
`Connection: close`), then 20,000 keep-alive requests from h2load; each run
must finish with 0 failed, and a curl right after must be answered.

Pins lwIP's TIME-WAIT answering a reused client port with an ACK: Linux reuses
a port within two minutes once it has made a few thousand connections to one
server, and such a connection then waited out the guest's two-minute
TIME-WAIT (ab stalled after ~3,300 requests; subprojects/packagefiles/
lwip-time-wait-reopen.patch).

    conn_churn_test.py user ATOLL HTTPD_DEMO   # through slirp's port forward (-p)
    conn_churn_test.py tap ATOLL HTTPD_DEMO    # over a TAP in a new network namespace

Skips (77) without ab, h2load or curl, and in tap mode without the privilege to
make a TAP device."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "boot", "net"))
from appliance import Appliance, free_port  # noqa: E402
from netns import make_tap, run_in_new_netns, tap_unavailable  # noqa: E402

REQUESTS = 20000
CLIENTS = 100
# A run that has not finished by then has stalled: the old TIME-WAIT stall
# lasted two minutes, a healthy run takes seconds.
RUN_LIMIT_S = 100
CLIENT_TOOLS = ("ab", "h2load", "curl")


def run_client(name, cmd):
    """Runs one load client; returns its output, or None if it did not finish."""
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=RUN_LIMIT_S)
    except subprocess.TimeoutExpired:
        print(f"FAIL {name}: not finished after {RUN_LIMIT_S} s (stalled)")
        return None
    return r.stdout + r.stderr


def check_ab(url):
    out = run_client("ab", ["ab", "-q", "-n", str(REQUESTS), "-c", str(CLIENTS), "-s", "30", url])
    if out is None:
        return False
    complete = re.search(r"Complete requests:\s+(\d+)", out)
    failed = re.search(r"Failed requests:\s+(\d+)", out)
    ok = complete and failed and int(complete.group(1)) == REQUESTS and int(failed.group(1)) == 0
    rate = re.search(r"Requests per second:\s+([\d.]+)", out)
    print(("PASS" if ok else "FAIL") + f" ab -n {REQUESTS} -c {CLIENTS} (new connection per request): "
          + (f"{complete.group(1)} complete, {failed.group(1)} failed, {rate.group(1)}/s" if ok else out[-1500:]))
    return bool(ok)


def check_h2load(url, what, extra):
    out = run_client("h2load", ["h2load", "--h1", "-n", str(REQUESTS), "-c", str(CLIENTS), *extra, url])
    if out is None:
        return False
    m = re.search(r"requests: (\d+) total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    ok = m and int(m.group(3)) == REQUESTS and m.group(4) == "0" and m.group(5) == "0"
    print(("PASS" if ok else "FAIL") + f" h2load --h1 -n {REQUESTS} -c {CLIENTS} ({what}): "
          + (m.group(0) if m else out[-1500:]))
    return bool(ok)


def check_curl(url):
    r = subprocess.run(["curl", "-s", "-m", "10", "-o", "/dev/null", "-w", "%{http_code}", url],
                       capture_output=True, text=True)
    ok = r.stdout == "200"
    print(("PASS" if ok else "FAIL") + f" curl right after: {r.stdout or r.stderr.strip()}")
    return ok


def churn(atoll, image, atoll_args, url):
    with Appliance(atoll, image, atoll_args, guest_args=["--quiet"], ready=r"httpd: serving") as app:
        ok = (check_ab(url) and check_curl(url)
              and check_h2load(url, "new connection per request", ["-H", "Connection: close"]) and check_curl(url)
              and check_h2load(url, "keep-alive", []) and check_curl(url))
        return app.verdict(ok)


def tap_inside(atoll, image):
    make_tap("atl0", "10.1.0.1/24")
    return churn(atoll, image, ["--net", "tap=atl0,ip=10.1.0.2/24"], "http://10.1.0.2/")


def main():
    mode, atoll, image = sys.argv[1:4]
    if mode == "--tap-inside":
        return tap_inside(atoll, image)
    missing = [t for t in CLIENT_TOOLS if not shutil.which(t)]
    if missing:
        print("SKIP: needs " + ", ".join(missing) + " (Debian: apache2-utils, nghttp2-client, curl)")
        return 77
    if mode == "user":
        port = free_port()
        return churn(atoll, image, ["-p", f"{port}:80"], f"http://127.0.0.1:{port}/")
    why = tap_unavailable()
    if why:
        print("SKIP: " + why)
        return 77
    return run_in_new_netns(__file__, "--tap-inside", atoll, image)


if __name__ == "__main__":
    sys.exit(main())
