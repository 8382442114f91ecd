#!/usr/bin/env python3
"""The httpd appliance serving a read-only tar disk, reached through slirp's
hostfwd, checked with httpd_test.py's full list (curl, raw sockets, wrk), then
with 2000 connections open at once, each answered.

usage: httpd_appliance_test.py ATOLL HTTPD_IMAGE"""

import resource
import socket
import subprocess
import sys
import tempfile
import os

from appliance import Appliance, free_port

HERE = os.path.dirname(os.path.abspath(__file__))


def concurrent(port, count):
    """Opens `count` keep-alive connections, each sending a GET at once (the
    server's header timeout is short), and only then reads the answers: all
    `count` connections are open together, and each must be answered 200."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, count + 256)), hard))
    request = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
    conns = []
    ok = 0
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=120)
            s.sendall(request)
            conns.append(s)
        for s in conns:
            reply = b""
            while b"It works" not in reply:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
            if reply.startswith(b"HTTP/1.1 200") and b"It works" in reply:
                ok += 1
    finally:
        for s in conns:
            s.close()
    print(("PASS" if ok == count else "FAIL") + f" {count} connections open at once, {ok} answered 200")
    return ok == count


def main():
    atoll, image = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        subprocess.run([sys.executable, os.path.join(HERE, "httpd_test.py"), "--make-docroot", root], check=True)
        disk = os.path.join(tmp, "site.tar")
        subprocess.run(["tar", "--format=ustar", "-cf", disk, "-C", root, "."], check=True)
        port = free_port()
        args = ["-m", "32M", "--disk", disk + ",ro", "--net", f"user,hostfwd=tcp:127.0.0.1:{port}-:80"]
        with Appliance(atoll, image, args, guest_args=["--root", "/", "--header-timeout", "2"],
                       ready=r"httpd: serving") as app:
            r = subprocess.run([sys.executable, os.path.join(HERE, "httpd_test.py"), "--url",
                                f"http://127.0.0.1:{port}", "--slow", "--header-timeout", "2"])
            if r.returncode != 0:
                sys.stderr.write(app.output()[-4000:])
                return r.returncode
            if not concurrent(port, 2000):
                sys.stderr.write(app.output()[-4000:])
                return 1
            if not app.alive():
                print("FAIL: the appliance died")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
