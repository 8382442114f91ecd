#!/usr/bin/env python3
"""Writes the xl config that boots an Atoll PVH image (NAME.xen) on real Xen.

    scripts/xen-config.py IMAGE [options] [-- ARG...]  > NAME.cfg   (ARG: the appliance's)
    xl create NAME.cfg                                   (in dom0 of a Xen host)

The build writes one beside each appliance (build/apps/hello/hello.cfg, ...),
with the image's path in this build; on another host, give the image's path
there with --kernel-path, or override it when creating:
`xl create hello.cfg 'kernel="/srv/atoll/hello.xen"'`.

The command line (`extra`) is argv as `atoll run` gives it: the program's name
first, then ARG... quoted so that the guest splits them back (docs/architecture.md,
"The two platforms").
"""
import argparse
import os
import re
import sys

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def quote_arg(arg: str) -> str:
    """One argument as the guest splits its command line back (kernel/boot.cpp:
    whitespace separates, double quotes group, a backslash escapes)."""
    if arg and not re.search(r"[\s\"'\\]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def xl_string(value: str) -> str:
    """A value in xl.cfg's syntax: single-quoted (no escapes exist there)."""
    if "'" in value or "\n" in value:
        raise ValueError(f"{value!r}: a single quote or a newline cannot be written in xl.cfg")
    return f"'{value}'"


def config(a) -> str:
    image = os.path.abspath(a.image)
    program = os.path.basename(image)
    program = program[:-len(".xen")] if program.endswith(".xen") else program
    name = a.name or program
    if not NAME.match(name):
        raise ValueError(f"--name {name!r}: letters, digits, '_', '.' and '-' only")
    extra = " ".join([program] + [quote_arg(x) for x in a.args])
    lines = [
        f"# {name}: an Atoll appliance as a Xen PVH domain. Made by scripts/xen-config.py;",
        "# `xl create THIS-FILE`, then `xl console " + name + "` (the exit status is on the",
        "# console, and in xenstore as data/exit-status while on_poweroff is 'preserve').",
        f"name = {xl_string(name)}",
        "type = 'pvh'",
        f"kernel = {xl_string(a.kernel_path or image)}",
        f"extra = {xl_string(extra)}",
        f"memory = {a.memory}",
        "vcpus = 1",
        "# Xen does not trap rdtsc: required under QEMU TCG (whose RDTSCP confuses",
        "# Xen's emulation), and the guest's pvclock reads the TSC directly anyway.",
        "tsc_mode = 'native'",
    ]
    if a.ramdisk:
        lines.append(f"ramdisk = {xl_string(a.ramdisk)}  # the read-only archive, the first PVH module")
    if a.vif:
        lines.append("vif = [ " + ", ".join(xl_string(v) for v in a.vif) + " ]")
    if a.disk:
        lines.append("disk = [ " + ", ".join(xl_string(d) for d in a.disk) + " ]")
    lines += [f"on_poweroff = '{a.on_poweroff}'", "on_reboot = 'restart'", f"on_crash = '{a.on_crash}'"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image", help="the PVH image (NAME.xen)")
    ap.add_argument("--name", help="the domain's name (default: the image's, without .xen)")
    ap.add_argument("--kernel-path", help="the image's path on the Xen host (default: IMAGE, made absolute)")
    ap.add_argument("--memory", type=int, default=32, help="MiB (default 32)")
    ap.add_argument("--vif", action="append", default=[], metavar="SPEC",
                    help="a vif, in xl's syntax (e.g. 'bridge=xenbr0'; 'ip=A MASK GW' gives a static address)")
    ap.add_argument("--disk", action="append", default=[], metavar="SPEC",
                    help="a disk, in xl's syntax (e.g. 'phy:/dev/loop0,xvda,w')")
    ap.add_argument("--ramdisk", metavar="PATH", help="a read-only tar archive for the appliance's files")
    ap.add_argument("--on-poweroff", default="destroy", choices=["destroy", "preserve", "restart"])
    ap.add_argument("--on-crash", default="preserve", choices=["destroy", "preserve", "restart"],
                    help="default preserve: a crashed domain stays for xl console / xl dmesg")
    ap.add_argument("-o", "--output", help="write here instead of stdout")
    argv = sys.argv[1:]
    rest = []
    if "--" in argv:
        argv, rest = argv[:argv.index("--")], argv[argv.index("--") + 1:]
    a = ap.parse_args(argv)
    a.args = rest
    if not 1 <= a.memory <= 3072:
        ap.error(f"--memory {a.memory}: from 1 to 3072 MiB (PVH images run below 4 GiB)")
    if not os.path.isfile(a.image):
        ap.error(f"{a.image}: no such image")
    with open(a.image, "rb") as f:
        if f.read(4) != b"\x7fELF":
            ap.error(f"{a.image}: not an ELF image")
    try:
        text = config(a)
    except ValueError as e:
        ap.error(str(e))
    if a.output:
        with open(a.output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
