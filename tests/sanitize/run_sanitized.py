#!/usr/bin/env python3
"""Runs one existing test against the sanitized hypervisor and fails on any
sanitizer report.

    run_sanitized.py COMMAND...

COMMAND is the test as its own suite runs it, with the sanitized atoll
(build/hypervisor/sanitize/atoll) in place of atoll. Every sanitized process
it starts (atoll, a daemon, the switch atoll forks, atoll-slirp) writes its
AddressSanitizer, LeakSanitizer or UndefinedBehaviorSanitizer report into a
fresh directory rather than onto stderr, where a test script may swallow it:
so a report fails the run even when the test's own checks pass, and is
printed here. Otherwise the test's own status stands (77 stays a skip).
"""
import os
import subprocess
import sys
import tempfile


def main() -> int:
    cmd = sys.argv[1:]
    if not cmd:
        print("usage: run_sanitized.py COMMAND...", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="atoll-sanitize-") as reports:
        env = dict(os.environ)
        # halt_on_error: the first report ends the process, as a fatal bug would.
        env["ASAN_OPTIONS"] = (f"log_path={reports}/asan:detect_leaks=1:halt_on_error=1:"
                               "strict_string_checks=1:detect_stack_use_after_return=1:"
                               "check_initialization_order=1")
        env["UBSAN_OPTIONS"] = f"log_path={reports}/ubsan:print_stacktrace=1:halt_on_error=1"
        status = subprocess.run(cmd, env=env).returncode
        found = sorted(os.listdir(reports))
        for name in found:
            print(f"--- sanitizer report {name}:")
            with open(os.path.join(reports, name), errors="replace") as f:
                print(f.read())
    if found:
        print(f"FAIL: {len(found)} sanitizer report(s) (test status {status})")
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
