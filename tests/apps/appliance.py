"""Boots an appliance with `atoll run` for a test and tears it down after.

    with Appliance(atoll, image, ["--net", "user,hostfwd=..."], ready=r"listening") as app:
        ...                      # app.output() is the console so far

free_port() picks a host port nobody listens on; httpd_behind() and
kvstore_behind() make the two appliances published on a host port. Used by
the appliance tests in this directory (echo, httpd, kvstore, switch) and
bench/soak/durability.py."""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time


def free_port(kind=socket.SOCK_STREAM):
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Appliance:
    def __init__(self, atoll, image, atoll_args=(), guest_args=(), ready=None, timeout=30):
        self.cmd = [atoll, "run", image, *atoll_args]
        if guest_args:
            self.cmd += ["--", *guest_args]
        self.ready = re.compile(ready) if ready else None
        self.timeout = timeout
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.timeout
        while self.ready and not self.ready.search(self.output()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"appliance exited with {self.proc.returncode} before it was ready:\n{self.output()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"appliance not ready after {self.timeout} s:\n{self.output()}")
            time.sleep(0.05)
        return self

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def alive(self):
        return self.proc.poll() is None

    def verdict(self, ok):
        """A test's exit status: 0 when `ok` and the appliance is still alive;
        otherwise says why, with the end of the appliance's console."""
        if not self.alive():
            print("FAIL: the appliance died")
            ok = False
        if not ok:
            sys.stderr.write(self.output()[-3000:])
        return 0 if ok else 1

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __exit__(self, *exc):
        self.stop()
        if exc[0] is not None:
            sys.stderr.write("---- appliance console ----\n" + self.output())
        return False


def new_disk(path, size=64 << 20):
    """A sparse, zeroed disk file of `size` bytes at `path`."""
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def httpd_behind(atoll, image, port, guest_args=("--quiet",)):
    """httpd (httpd-demo: its site sealed in) published on 127.0.0.1:`port`."""
    return Appliance(atoll, image, ["-p", f"{port}:80"], guest_args=guest_args, ready=r"httpd: serving")


def kvstore_behind(atoll, image, port, disk, guest_args=(), timeout=30):
    """kvstore with its log on `disk`, published on 127.0.0.1:`port`."""
    return Appliance(atoll, image, ["-m", "64M", "--disk", disk, "-p", f"{port}:6379"], guest_args=guest_args,
                     ready=r"kvstore: listening", timeout=timeout)


def report(failures, console=""):
    """A test's exit status from its list of failures: prints the end of the
    appliance's console when any, one FAILED line each, then PASS or FAIL."""
    if failures and console:
        print("---- appliance console ----\n" + console[-3000:])
    for f in failures:
        print("FAILED: " + f)
    print("PASS" if not failures else "FAIL")
    return 1 if failures else 0
