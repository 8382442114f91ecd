#!/usr/bin/env python3
"""Reproducible sealed images (issue 14): the same source and toolchain, built
in two different directories, give byte-identical sealed images.

Copies the working tree (the files git tracks or would track, plus lwIP's
source package in subprojects/packagecache) to two directories whose paths
differ in name and length, configures each with the same guest cross file
(the same toolchain) and builds the sealed appliances there, then compares
them byte for byte. On a difference it says which part differs (from
`atoll inspect --json`). Slow: two builds of the guest and the hypervisor
(about 10 minutes on an idle 2-core machine), so it is its own suite,
`meson test -C build --suite repro`, outside the default run.

    reproducible_image.py SOURCE_ROOT CROSS_FILE
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

TARGETS = ["apps/httpd/httpd-demo", "apps/httpd/httpd", "apps/kvstore/kvstore"]


def copy_tree(src, dst):
    files = subprocess.run(["git", "-C", src, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           capture_output=True, check=True).stdout.split(b"\0")
    for f in files:
        if not f:
            continue
        rel = f.decode()
        if not os.path.lexists(os.path.join(src, rel)):
            continue  # deleted in the working tree
        os.makedirs(os.path.dirname(os.path.join(dst, rel)) or dst, exist_ok=True)
        shutil.copy2(os.path.join(src, rel), os.path.join(dst, rel), follow_symlinks=False)
    cache = os.path.join(src, "subprojects", "packagecache")
    if os.path.isdir(cache):
        shutil.copytree(cache, os.path.join(dst, "subprojects", "packagecache"), dirs_exist_ok=True)


def build(tree, cross):
    env = dict(os.environ, SOURCE_DATE_EPOCH="0")
    subprocess.run(["meson", "setup", "build", "--cross-file", cross, "--wrap-mode=nodownload"], cwd=tree,
                   check=True, capture_output=True, env=env)
    r = subprocess.run(["nice", "ninja", "-C", "build", *TARGETS], cwd=tree, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        print(r.stdout[-3000:], r.stderr[-3000:])
        raise SystemExit(f"the build in {tree} failed")


def parts(tree, target):
    r = subprocess.run([os.path.join(tree, "build/hypervisor/atoll"), "inspect", "--json",
                        os.path.join(tree, "build", target)], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 else {"error": r.stderr}


def main():
    src, cross = sys.argv[1], os.path.abspath(sys.argv[2])
    failures = 0
    with tempfile.TemporaryDirectory(prefix="atoll-repro-") as tmp:
        trees = [os.path.join(tmp, "one", "atoll"), os.path.join(tmp, "second-checkout-elsewhere", "src")]
        for t in trees:
            copy_tree(src, t)
            build(t, cross)
        for target in TARGETS:
            a, b = (open(os.path.join(t, "build", target), "rb").read() for t in trees)
            if a == b:
                print(f"PASS {target}: {len(a)} bytes, identical in {trees[0]} and {trees[1]}")
                continue
            failures += 1
            pa, pb = parts(trees[0], target), parts(trees[1], target)
            which = [k for k in ("elf", "archive", "manifest") if pa.get("parts", {}).get(k) != pb.get("parts", {}).get(k)]
            print(f"FAIL {target}: {len(a)} and {len(b)} bytes differ; parts that differ: {which or 'unknown'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
