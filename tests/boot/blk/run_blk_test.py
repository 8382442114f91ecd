#!/usr/bin/env python3
"""Boots blk_disk with a 16 MiB disk file and checks the file afterwards.

usage: run_blk_test.py ATOLL IMAGE rw|ro|durable|hostile|direct

rw: the guest writes the pattern over a zeroed disk; the file must then hold it.
ro: the file holds the pattern; the guest's write must fail and change nothing.
durable: once the guest says its writes are flushed, atoll is killed with
SIGKILL (the guest dies with it); the flushed pattern must be in the file.
hostile: blk_hostile attacks the backend with reads; the zeroed file stays zeroed.
direct: rw with the disk opened O_DIRECT (`--disk path,direct`).
Exits 77 (skip) when this atoll has no --disk option yet.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
from array import array

SIZE = 16 << 20
MASK = (1 << 64) - 1


def pattern_bytes():
    words = array('Q')
    for k in range(SIZE // 8):
        x = ((k + 1) * 0x9E3779B97F4A7C15) & MASK
        words.append(x ^ (x >> 29))
    return words.tobytes()


def main():
    atoll, image, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    helptext = subprocess.run([atoll, 'help', 'run'], capture_output=True, text=True).stdout
    if '--disk' not in helptext:
        print('atoll has no --disk option yet: skipping')
        return 77
    expected = bytes(SIZE) if mode == 'hostile' else pattern_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, 'disk.img')
        with open(disk, 'wb') as f:
            f.write(expected if mode == 'ro' else bytes(SIZE))
        arg = disk + {'ro': ',ro', 'direct': ',direct'}.get(mode, '')
        if mode == 'durable':
            if not run_and_kill(atoll, arg, image):
                return 1
        elif not run_to_end(atoll, arg, image, mode):
            return 1
        with open(disk, 'rb') as f:
            content = f.read()
        if content != expected:
            first = next(i for i in range(min(len(content), SIZE)) if content[i] != expected[i]) \
                if len(content) == SIZE else -1
            print(f'FAILED: the disk file does not hold the pattern (size {len(content)}, first difference {first})')
            return 1
    print('the disk file holds what it should: PASSED')
    return 0


def run_and_kill(atoll, arg, image):
    p = subprocess.Popen([atoll, 'run', '--disk', arg, image, '--', 'durable'],
                         stdout=subprocess.PIPE, text=True)
    for line in p.stdout:
        sys.stdout.write(line)
        if 'blk_disk: flushed' in line:
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            print('atoll killed with SIGKILL after the flush')
            return True
        if 'FAILED' in line:
            break
    p.kill()
    p.wait()
    print(f'FAILED: no flush marker (atoll exited {p.returncode})')
    return False


def run_to_end(atoll, arg, image, mode):
    p = subprocess.run([atoll, 'run', '-v', '--disk', arg, image, '--', mode],
                       capture_output=True, text=True, timeout=120)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    marker = os.path.basename(image) + ': PASSED'
    if p.returncode != 0 or marker not in p.stdout:
        print(f'FAILED: atoll exited {p.returncode}')
        return False
    if mode == 'direct':
        # The guest's alloc_buffer() requests go through registered guest RAM
        # (READ_FIXED/WRITE_FIXED) unless this host has no io_uring at all.
        log = p.stdout + p.stderr
        m = re.search(r'requests \((\d+) through registered guest RAM\)', log)
        if 'io_uring unavailable' not in log and 'not registered' not in log and (not m or int(m.group(1)) == 0):
            print('FAILED: no request went through registered guest RAM')
            return False
        print(f'{m.group(1) if m else 0} requests through registered guest RAM')
    return True


if __name__ == '__main__':
    sys.exit(main())
