#!/usr/bin/env python3
"""The httpd appliance serving a read-only tar disk, reached through slirp's
hostfwd, checked with httpd_test.py's full list (curl, raw sockets, wrk).

usage: httpd_appliance_test.py ATOLL HTTPD_IMAGE"""

import subprocess
import sys
import tempfile
import os

from appliance import Appliance, free_port

HERE = os.path.dirname(os.path.abspath(__file__))


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
            if not app.alive():
                print("FAIL: the appliance died")
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
