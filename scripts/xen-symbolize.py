#!/usr/bin/env python3
"""Names the addresses in a Xen PVH guest's crash report.

A PVH image prints its own backtrace on the console (kernel/platform/xen:
"atoll:   #N 0xADDR" lines), as addresses only: the symbol table is in the
ELF file, not in the guest's memory. This reads a console log (a file or
stdin) and appends "function+0xoffset" from the image's symbol table (nm),
the way `atoll run` prints a hosted guest's backtrace.

    scripts/xen-symbolize.py build/apps/hello/hello.xen console.log
    xl console guest | scripts/xen-symbolize.py hello.xen
"""
import bisect
import re
import subprocess
import sys


def load_symbols(image):
    out = subprocess.run(["nm", "-C", "--defined-only", "-n", image], check=True, capture_output=True,
                         text=True).stdout
    addrs, names = [], []
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            addrs.append(int(parts[0], 16))
            names.append(parts[2])
    return addrs, names


def name_of(addrs, names, addr, is_return):
    # A return address points after the call; look up the call itself.
    i = bisect.bisect_right(addrs, addr - 1 if is_return else addr) - 1
    if i < 0:
        return None
    return f"{names[i]}+{addr - addrs[i]:#x}"


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    addrs, names = load_symbols(sys.argv[1])
    src = open(sys.argv[2], errors="replace") if len(sys.argv) == 3 else sys.stdin
    frame = re.compile(r"atoll:\s+#(\d+) (0x[0-9a-f]+)")
    for line in src:
        line = line.rstrip("\n")
        m = frame.search(line)
        if m:
            where = name_of(addrs, names, int(m.group(2), 16), is_return=m.group(1) != "0")
            if where:
                line += " " + where
        print(line)


if __name__ == "__main__":
    main()
