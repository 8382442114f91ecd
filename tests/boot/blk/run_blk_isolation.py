#!/usr/bin/env python3
"""A hostile block frontend does not disturb another domain.

usage: run_blk_isolation.py ATOLL HOSTILE_IMAGE DISK_IMAGE

Starts blk_hostile (bad requests, foreign grants, a ring overrun and the
disconnect it earns) on its own zeroed disk, and while that domain runs, boots
blk_disk in `rw` mode on a second disk again and again: each domain is its own
`atoll run`, so its own hypervisor process. Every well-behaved run must pass
and leave its disk holding the pattern, the hostile run must pass too (its
hypervisor refused everything and lived), and its disk must still be zeroes.
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_blk_test import SIZE, pattern_bytes  # noqa: E402


def main():
    atoll, hostile, good = sys.argv[1], sys.argv[2], sys.argv[3]
    helptext = subprocess.run([atoll, 'help', 'run'], capture_output=True, text=True).stdout
    if '--disk' not in helptext:
        print('atoll has no --disk option yet: skipping')
        return 77
    expected = pattern_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        hostile_disk = os.path.join(tmp, 'hostile.img')
        with open(hostile_disk, 'wb') as f:
            f.truncate(SIZE)
        h = subprocess.Popen([atoll, 'run', '--disk', hostile_disk, hostile, '--', 'hostile'],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        good_runs = 0
        ok = True
        # At least one well-behaved run, and more for as long as the hostile one lasts.
        while ok and (good_runs == 0 or h.poll() is None):
            good_disk = os.path.join(tmp, f'good{good_runs}.img')
            with open(good_disk, 'wb') as f:
                f.truncate(SIZE)
            started = time.monotonic()
            g = subprocess.run([atoll, 'run', '--disk', good_disk, good, '--', 'rw'],
                               capture_output=True, text=True, timeout=120)
            overlapped = h.poll() is None
            with open(good_disk, 'rb') as f:
                intact = f.read() == expected
            passed = g.returncode == 0 and 'blk_disk: PASSED' in g.stdout and intact
            print(f'well-behaved run {good_runs}: {"PASSED" if passed else "FAILED"} in '
                  f'{time.monotonic() - started:.2f} s (hostile domain still running at its end: {overlapped}; '
                  f'disk {"holds" if intact else "does NOT hold"} the pattern)')
            if not passed:
                sys.stdout.write(g.stdout + g.stderr)
                ok = False
            os.unlink(good_disk)
            good_runs += 1
        out, _ = h.communicate(timeout=120)
        hostile_ok = h.returncode == 0 and 'blk_hostile: PASSED' in out
        with open(hostile_disk, 'rb') as f:
            hostile_zero = f.read() == bytes(SIZE)
        print(f'hostile domain: exit {h.returncode}, {"PASSED" if hostile_ok else "FAILED"}; '
              f'its disk {"still zeroes" if hostile_zero else "CHANGED"}')
        if not hostile_ok:
            sys.stdout.write(out)
        if not (ok and hostile_ok and hostile_zero):
            print('FAILED')
            return 1
    print(f'{good_runs} well-behaved run(s) alongside the hostile domain: PASSED')
    return 0


if __name__ == '__main__':
    sys.exit(main())
