#!/usr/bin/env python3
"""Boots fs_check against an archive and checks what the guest reports.

usage: run_fs_test.py ATOLL IMAGE MODE [SEALED_DIR]

ustar, gnu, pax: a tree (files, a 4 MiB pattern file, a symlink, long paths)
    archived with `tar --format=MODE` on a read-only disk; the guest reads it
    all back, from a manifest inside the archive whose hash it gets on its
    command line, then checks errno values and paths.
rw-ignored: the same ustar archive on a writable disk: not auto-mounted; the
    guest mounts it explicitly. The disk file must be unchanged afterwards.
bad-checksum, truncated: a malformed archive on the disk: nothing is mounted,
    the console names the problem and its offset, the guest does not crash.
sealed: IMAGE has SEALED_DIR sealed into it; no disk.
Exits 77 (skip) when tar or atoll's --disk option is missing.
"""
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from array import array

BIG = 4 << 20
MASK = (1 << 64) - 1


def fnv1a(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & MASK
    return h


def pattern_bytes(size):
    words = array('Q')
    for k in range(size // 8):
        x = ((k + 1) * 0x9E3779B97F4A7C15) & MASK
        words.append(x ^ (x >> 29))
    return words.tobytes()


def make_tree(root, long_names):
    """Writes the test tree; returns the specs that describe it."""
    files = {
        'hello.txt': b'hello, archive\n',
        'dir/a.txt': b'a file in a directory\n',
        'dir/b.bin': bytes((i * 7919 + i // 13) & 0xff for i in range(10000)),
        'dir/empty.txt': b'',
        'dir/sub/c.txt': b'two levels down\n',
        # ustar stores this in its prefix and name fields.
        'p' * 90 + '/' + 'q' * 90 + '/deep.txt': b'a path longer than 100 bytes\n',
    }
    if long_names:  # GNU 'L' records or pax path= records
        files['long/' + 'L' * 200 + '.txt'] = b'a name longer than 100 bytes\n'
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'wb') as f:
            f.write(data)
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        f.write(pattern_bytes(BIG))
    os.symlink('hello.txt', os.path.join(root, 'link'))

    specs = [f'file:/{rel}:{len(data)}:{fnv1a(data):016x}' for rel, data in sorted(files.items())]
    specs.append(f'pattern:/big.bin:{BIG}')
    specs.append('dir:/dir:a.txt,b.bin,empty.txt,sub/')
    top = ['MANIFEST', 'big.bin', 'dir/', 'hello.txt', 'link', 'p' * 90 + '/'] + (['long/'] if long_names else [])
    specs.append('dir:/:' + ','.join(top))
    specs.append('link:/link:hello.txt')
    return specs


def make_archive(tmp, fmt):
    """Archives the tree with its MANIFEST; returns the tar and the manifest spec."""
    tree = os.path.join(tmp, 'tree')
    os.mkdir(tree)
    specs = make_tree(tree, long_names=fmt != 'ustar')
    manifest = ('\n'.join(specs) + '\n').encode()
    with open(os.path.join(tree, 'MANIFEST'), 'wb') as f:
        f.write(manifest)
    tar = os.path.join(tmp, 'site.tar')
    subprocess.run(['tar', f'--format={fmt}', '-C', tree, '-cf', tar, '.'], check=True)
    return tar, f'manifest:/MANIFEST:{len(manifest)}:{fnv1a(manifest):016x}'


def corrupt(tar, how):
    """Returns (offset of the damaged header, text the console must show)."""
    with open(tar, 'r+b') as f:
        data = bytearray(f.read())
        offsets = header_offsets(data)
        if how == 'bad-checksum':
            at = offsets[2]
            data[at] ^= 0x01  # one bit of the name; the stored checksum no longer matches
            f.seek(0)
            f.write(data)
            return at, 'bad header checksum'
        # truncated: cut inside big.bin's data, on a sector boundary
        at = next(o for o in offsets if data[o:o + 100].rstrip(b'\0').endswith(b'big.bin'))
        f.truncate(at + 512 + (1 << 20))
        return at, 'runs past the end of the archive'


def header_offsets(data):
    offsets, at = [], 0
    while at + 512 <= len(data) and any(data[at:at + 512]):
        offsets.append(at)
        size = int(data[at + 124:at + 136].rstrip(b'\0 ') or b'0', 8)
        no_data = data[at + 156] in b'123456'  # links, devices, directories, fifos
        at += 512 + (0 if no_data else (size + 511) // 512 * 512)
    return offsets


def boot(atoll, image, disk, args):
    cmd = [atoll, 'run'] + (['--disk', disk] if disk else []) + [image, '--'] + args
    print('$ ' + ' '.join(cmd))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    return p


def main():
    atoll, image, mode = sys.argv[1:4]
    if mode != 'sealed':
        if not shutil.which('tar'):
            print('no tar on this machine: skipping')
            return 77
        helptext = subprocess.run([atoll, 'help', 'run'], capture_output=True, text=True).stdout
        if '--disk' not in helptext:
            print('atoll has no --disk option: skipping')
            return 77
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        if mode == 'sealed':
            p = boot(atoll, image, None, ['sealed'] + sealed_specs(sys.argv[4]))
        else:
            tar, manifest = make_archive(tmp, 'ustar' if mode in ('rw-ignored', 'bad-checksum', 'truncated') else mode)
            if mode in ('bad-checksum', 'truncated'):
                at, why = corrupt(tar, mode)
                p = boot(atoll, image, tar + ',ro', ['bad'])
                want = rf'fs: device/vbd/\d+: bad archive: .*{why}.*\(header at offset {at}\)'
                if not re.search(want, p.stdout):
                    problems.append(f'the console lacks /{want}/')
            elif mode == 'rw-ignored':
                before = hashlib.sha256(open(tar, 'rb').read()).hexdigest()
                p = boot(atoll, image, tar, ['rw-ignored', manifest])
                if hashlib.sha256(open(tar, 'rb').read()).hexdigest() != before:
                    problems.append('the disk file changed')
            else:
                p = boot(atoll, image, tar + ',ro', ['full', manifest])
    if p.returncode != 0:
        problems.append(f'atoll exited {p.returncode}')
    if 'fs_check: PASSED' not in p.stdout:
        problems.append('no "fs_check: PASSED"')
    if problems:
        print('FAILED: ' + '; '.join(problems))
        return 1
    print('ok')
    return 0


def sealed_specs(root):
    specs, listing = [], {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        key = '/' if rel_dir == '.' else '/' + rel_dir
        listing[key] = sorted([d + '/' for d in dirnames] + filenames)
        for name in sorted(filenames):
            with open(os.path.join(dirpath, name), 'rb') as f:
                data = f.read()
            path = (key.rstrip('/') + '/' + name)
            specs.append(f'file:{path}:{len(data)}:{fnv1a(data):016x}')
    specs += [f'dir:{d}:{",".join(names)}' for d, names in sorted(listing.items())]
    return specs


if __name__ == '__main__':
    sys.exit(main())
