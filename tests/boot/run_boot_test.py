#!/usr/bin/env python3
"""Boots one image with `atoll run` and checks its exit status and output.

    run_boot_test.py ATOLL IMAGE [--status N] [--stdout REGEX]... [--stderr REGEX]...
                     [--stdout-count REGEX=N]... [--atoll-arg ARG]... [-- GUEST ARGS...]

Fails (exit 1) with a report of what differed; the guest's output is shown so a
failure can be read in the meson test log.
"""
import argparse
import re
import subprocess
import sys


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("atoll")
    p.add_argument("image")
    p.add_argument("--status", type=int, default=0)
    p.add_argument("--stdout", action="append", default=[])
    p.add_argument("--stderr", action="append", default=[])
    p.add_argument("--not-stderr", action="append", default=[])
    p.add_argument("--stderr-count", action="append", default=[])
    p.add_argument("--atoll-arg", action="append", default=[])
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--stdin", default=None, help="text for the guest's console input (\\n for newlines)")
    argv = sys.argv[1:]
    guest_args = []
    if "--" in argv:
        cut = argv.index("--")
        argv, guest_args = argv[:cut], argv[cut + 1:]
    a = p.parse_args(argv)
    a.guest_args = guest_args

    cmd = [a.atoll] + (["run"] if not a.image.startswith("@") else [])
    cmd += a.atoll_arg
    if not a.image.startswith("@"):
        cmd.append(a.image)
    if a.guest_args:
        cmd += ["--"] + a.guest_args
    try:
        if a.stdin is None:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout, stdin=subprocess.DEVNULL)
        else:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout,
                               input=a.stdin.replace("\\n", "\n"))
    except subprocess.TimeoutExpired:
        print(f"TIMEOUT after {a.timeout}s: {' '.join(cmd)}")
        return 1
    problems = []
    if r.returncode != a.status:
        problems.append(f"exit status {r.returncode}, expected {a.status}")
    for pat in a.stdout:
        if not re.search(pat, r.stdout, re.M):
            problems.append(f"stdout lacks /{pat}/")
    for pat in a.stderr:
        if not re.search(pat, r.stderr, re.M):
            problems.append(f"stderr lacks /{pat}/")
    for pat in a.not_stderr:
        if re.search(pat, r.stderr, re.M):
            problems.append(f"stderr unexpectedly has /{pat}/")
    for spec in a.stderr_count:
        pat, n = spec.rsplit("=", 1)
        got = len(re.findall(pat, r.stderr, re.M))
        if got != int(n):
            problems.append(f"stderr has /{pat}/ {got} times, expected {n}")
    print("$ " + " ".join(cmd))
    print("--- stdout ---\n" + r.stdout + "--- stderr ---\n" + r.stderr + "---")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
