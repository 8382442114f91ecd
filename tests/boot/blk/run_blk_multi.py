#!/usr/bin/env python3
"""Boots blk_multi with the disks a mode needs and checks the files afterwards.

usage: run_blk_multi.py ATOLL IMAGE discard|two|big|reconnect|async|async-1q

discard:   a 16 MiB file of random bytes; afterwards sectors 2048..4095 must be
           a hole (SEEK_DATA skips it, st_blocks dropped by 1 MiB), 8193..8194
           zeroes, and every other byte as before.
two:       4 MiB and 8 MiB zeroed files; each must hold its own pattern.
big:       a 256 MiB sparse file; sampled 4 KiB blocks must hold the pattern
           (the guest verified all of it).
reconnect: a 16 MiB zeroed file; it must hold the pattern afterwards.
reconnect-1q, async, async-1q: the disk offering 4 queues (the default) or
           one (-1q), whose ring then spans two pages.
"""
import os
import random
import subprocess
import sys
import tempfile
from array import array

MASK = (1 << 64) - 1


def pattern_words(first, count, seed):
    """blk_multi.cpp's splitmix64 pattern: words first..first+count-1."""
    out = array('Q')
    for k in range(first, first + count):
        z = (k * 0x9E3779B97F4A7C15 + seed) & MASK
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out.append(z ^ (z >> 31))
    return out.tobytes()


def make(path, size, content=None):
    with open(path, 'wb') as f:
        if content is None:
            f.truncate(size)
        else:
            f.write(content)


def boot(atoll, image, mode, disks):
    args = [atoll, 'run']
    for d in disks:
        args += ['--disk', d]
    p = subprocess.run(args + [image, '--', mode], capture_output=True, text=True, timeout=600)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if p.returncode != 0 or 'blk_multi: PASSED' not in p.stdout:
        print(f'FAILED: atoll exited {p.returncode}')
        return False
    return True


def whole_pattern_ok(path, seed):
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        ok = f.read() == pattern_words(0, size // 8, seed)
    print(f'{os.path.basename(path)}: {"holds" if ok else "does NOT hold"} its pattern')
    return ok


def check_discard(path, before):
    st = os.stat(path)
    with open(path, 'rb') as f:
        after = f.read()
        fd = f.fileno()
        next_data = os.lseek(fd, 1 << 20, os.SEEK_DATA)
    expected = bytearray(before)
    expected[1 << 20:2 << 20] = bytes(1 << 20)
    expected[8193 * 512:8195 * 512] = bytes(1024)
    ok = True
    if after != bytes(expected):
        print('FAILED: the file is not its old content with the discarded ranges zeroed')
        ok = False
    if next_data < 2 << 20:
        print(f'FAILED: no hole at 1 MiB..2 MiB (SEEK_DATA from 1 MiB gives {next_data})')
        ok = False
    allocated = st.st_blocks * 512
    if allocated > len(before) - (1 << 20):
        print(f'FAILED: {allocated} bytes still allocated of {len(before)}')
        ok = False
    if ok:
        print(f'hole at 1 MiB..2 MiB (next data at {next_data}), {allocated} bytes allocated, the rest intact')
    return ok


def main():
    atoll, image, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    with tempfile.TemporaryDirectory() as tmp:
        disk = os.path.join(tmp, 'disk.img')
        if mode == 'discard':
            before = os.urandom(16 << 20)
            make(disk, 0, before)
            os.fsync(os.open(disk, os.O_RDONLY))
            return 0 if boot(atoll, image, mode, [disk]) and check_discard(disk, before) else 1
        if mode == 'two':
            second = os.path.join(tmp, 'disk2.img')
            make(disk, 4 << 20)
            make(second, 8 << 20)
            if not boot(atoll, image, mode, [disk, second]):
                return 1
            # Each disk's seed is its size in sectors.
            ok = whole_pattern_ok(disk, (4 << 20) // 512) & whole_pattern_ok(second, (8 << 20) // 512)
            return 0 if ok else 1
        if mode in ('reconnect', 'reconnect-1q'):
            make(disk, 16 << 20)
            arg = disk + (',queues=1' if mode == 'reconnect-1q' else '')
            return 0 if boot(atoll, image, mode, [arg]) and whole_pattern_ok(disk, 7) else 1
        if mode in ('async', 'async-1q'):
            make(disk, 16 << 20)
            arg = disk + (',queues=1' if mode == 'async-1q' else '')
            return 0 if boot(atoll, image, mode, [arg]) and whole_pattern_ok(disk, 9) else 1
        make(disk, 256 << 20)
        if not boot(atoll, image, mode, [disk]):
            return 1
        rng = random.Random(4)
        blocks = [0, (256 << 20) // 4096 - 1] + [rng.randrange((256 << 20) // 4096) for _ in range(62)]
        with open(disk, 'rb') as f:
            for b in blocks:
                f.seek(b * 4096)
                if f.read(4096) != pattern_words(b * 512, 512, 1):
                    print(f'FAILED: block {b} does not hold the pattern')
                    return 1
        print(f'{len(blocks)} sampled blocks hold the pattern')
    return 0


if __name__ == '__main__':
    sys.exit(main())
