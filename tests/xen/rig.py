#!/usr/bin/env python3
"""The Xen conformance rig's runner: boots Debian's Xen 4.17 under QEMU TCG once,
with a Linux PV dom0 that runs every requested check, and reports them as TAP.

    rig.py [--image FILE=PATH]... [--checks a,b] [--log FILE] [--timeout S]
    rig.py --shell [--image FILE=PATH]...     dom0 shell on this terminal

The dom0 initramfs is cached (build-rig.sh). What changes per run -- the dom0
check scripts and our guest images -- goes into a second, small cpio archive
appended to the cached one: Linux unpacks concatenated archives in order, so
the overlay lands in dom0's root (/rig) without rebuilding the cache.

Skips: a check whose image is missing is reported `ok N - name # SKIP reason`;
without QEMU or the Xen packages the whole run is `1..0 # SKIP reason`.
"""
import argparse
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
SITE = os.path.join(HERE, "..", "..", "apps", "httpd", "site")


@dataclass
class Check:
    name: str
    images: list = field(default_factory=list)  # image file names the check needs
    what: str = ""
    default: bool = True  # run when no --checks are given
    # A known gap on real Xen, not yet closed: its failure is reported as
    # `not ok ... # TODO why` (meson: an expected failure, listed as such in
    # every run); a pass says the gap may be closed.
    gap: str = ""


# In order: checks share the control guest where that saves a boot.
CHECKS = [
    Check("control-console", [], "Linux PVH control prints through xenconsoled"),
    Check("control-console-attach", [], "xl console round trip to the control"),
    Check("control-reboot", [], "xl reboot of the control"),
    Check("control-shutdown", [], "xl shutdown of the control"),
    Check("control-net-block", [], "control over netback (ping) and blkback (both ways), xl destroy"),
    Check("hello", ["hello.xen"], "hello: console, argv from extra=, exit status"),
    Check("exit-status", ["exit_status.xen"], "exit status 42 visible to dom0"),
    Check("xenstore-guest", ["xenstore_guest.xen"], "the xenstore boot test"),
    Check("evtchn-pingpong", ["evtchn_pingpong.xen"], "the event-channel test"),
    Check("grants", ["grants.xen"], "the grant-table test"),
    Check("httpd-net", ["httpd.xen"], "httpd over netback: ping, a page, 1 MiB byte for byte"),
    Check("kvstore-net", ["kvstore.xen"], "kvstore over netback with redis-cli"),
    Check("block", ["blk_disk.xen"], "blkfront against blkback: the guest's flushed writes in dom0, dom0's data in the guest"),
    Check("block-discard", ["blk_multi.xen"], "discard through blkfront and blkback"),
    Check("appliance-lifecycle", ["httpd.xen"], "xl shutdown/reboot/destroy/console of an appliance"),
    # bench/xen/run.sh: informational timings, not a test.
    Check("bench-boot", [], "xl create -> first console line: Linux PVH, hello", default=False),
    # Diagnostic: dom0's tools (xl, xenstore-ls, bash, ip) run many times, crashes counted.
    Check("dom0-tools", [], "dom0's tools run again and again without crashing", default=False),
]


def tap_escape(s: str) -> str:
    return s.replace("#", "\\#")


class Tap:
    def __init__(self, total: int):
        self.n = 0
        print("TAP version 13")
        print(f"1..{total}", flush=True)

    def result(self, ok: bool, name: str, directive: str = "", diag=()):
        self.n += 1
        for line in diag:
            print(f"# {line}")
        d = f" # {directive}" if directive else ""
        print(f"{'ok' if ok else 'not ok'} {self.n} - {tap_escape(name)}{d}", flush=True)


def build_rig() -> tuple:
    """Returns (cache dir, None) or (None, reason to skip)."""
    r = subprocess.run([os.path.join(HERE, "build-rig.sh")], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    if r.returncode == 0:
        return r.stdout.strip().splitlines()[-1], None
    reason = (r.stderr.strip().splitlines() or ["build-rig.sh failed"])[-1]
    if r.returncode == 77:
        return None, reason
    sys.stderr.write(r.stderr)
    raise SystemExit(f"build-rig.sh failed (status {r.returncode}): {reason}")


def make_overlay(path: str, checks: list, images: dict, listed=None):
    """The per-run archive: /rig/{run,lib.sh,checks/,checks.list,images/}."""
    with tempfile.TemporaryDirectory() as tmp:
        rig = os.path.join(tmp, "rig")
        os.makedirs(os.path.join(rig, "checks"))
        os.makedirs(os.path.join(rig, "images"))
        shutil.copy(os.path.join(HERE, "dom0", "run"), os.path.join(rig, "run"))
        os.chmod(os.path.join(rig, "run"), 0o755)
        shutil.copy(os.path.join(HERE, "dom0", "lib.sh"), os.path.join(rig, "lib.sh"))
        for c in checks:
            src = os.path.join(HERE, "checks", c.name + ".sh")
            if listed is None or os.path.exists(src):
                shutil.copy(src, os.path.join(rig, "checks"))
        with open(os.path.join(rig, "checks.list"), "w") as f:
            f.write("".join(c.name + "\n" for c in (checks if listed is None else listed)))
        # The control domU's /init, appended to its cached busybox initrd in dom0.
        ctl = os.path.join(tmp, "ctl")
        os.makedirs(ctl)
        shutil.copy(os.path.join(HERE, "dom0", "domu-init"), os.path.join(ctl, "init"))
        os.chmod(os.path.join(ctl, "init"), 0o755)
        with open(os.path.join(rig, "domu-init.cpio"), "wb") as out:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=ctl, input=b"init\n",
                           stdout=out, check=True)
        for name, src in images.items():
            shutil.copy(src, os.path.join(rig, "images", name))
        make_data(os.path.join(rig, "data"), {c.name for c in checks})
        names = subprocess.run(["find", "rig"], cwd=tmp, capture_output=True, text=True, check=True).stdout
        with open(path, "wb") as out:
            subprocess.run(["cpio", "-o", "-H", "newc", "--quiet"], cwd=tmp, input=names.encode(),
                           stdout=out, check=True)


def blk_pattern(size=16 << 20) -> bytes:
    """tests/boot/blk's pattern: one 64-bit word per 8 bytes of disk."""
    from array import array
    words = array("Q")
    for k in range(size // 8):
        x = ((k + 1) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        words.append(x ^ (x >> 29))
    return words.tobytes()


def make_data(data: str, names: set):
    """Files the checks compare against, made only for the checks that run."""
    os.makedirs(data)
    if names & {"httpd-net", "appliance-lifecycle"}:
        # httpd's read-only tar disk: the demo site plus 1 MiB of fixed pseudo-random bytes.
        site = os.path.join(data, "site")
        shutil.copytree(SITE, site)
        big = b"".join(hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range((1 << 20) // 32))
        with open(os.path.join(site, "big.bin"), "wb") as f:
            f.write(big)
        with tarfile.open(os.path.join(data, "site.tar"), "w", format=tarfile.USTAR_FORMAT) as t:
            for name in sorted(os.listdir(site)):
                t.add(os.path.join(site, name), arcname=name)
    if "block" in names:
        pattern = blk_pattern()
        with open(os.path.join(data, "blk-pattern.bin"), "wb") as f:
            f.write(pattern)
        with open(os.path.join(data, "blk-pattern.sha256"), "w") as f:
            f.write(hashlib.sha256(pattern).hexdigest() + "\n")


# -xsave: no XSAVE, and so no AVX, for Xen and dom0. With AVX, TCG (QEMU 7.2)
# now and then gets dom0's glibc string functions wrong: Debian's xl died of
# SIGSEGV, ld.so asserted, and busybox sh ran "ct" for "ctl" and read a bad
# number (tests/xen/README.md, "Steadiness"). Our guests use fxsave only.
DEFAULT_CPU = "EPYC,-smap,-monitor,-xsave"


def qemu_command(rig_dir: str, initrd: str, shell: bool, cpu: str = DEFAULT_CPU) -> list:
    dom0_args = "console=hvc0 earlyprintk=xen rdinit=/init loglevel=4" + (" rig.shell" if shell else "")
    return ["qemu-system-x86_64", "-accel", "tcg", "-machine", "q35",
            # The CPU (DEFAULT_CPU): -smap: TCG and Xen disagree about SMAP on a PV
            # guest's stack (dom0 faults at once); -monitor: Xen's mwait idle loop
            # takes a #GP under TCG; -xsave: see DEFAULT_CPU.
            "-cpu", cpu, "-smp", "1", "-m", "2048",
            "-nographic", "-no-reboot", "-nic", "none",
            "-kernel", os.path.join(rig_dir, "xen"),
            "-append", "console=com1 com1=115200 loglvl=all guest_loglvl=all "
                       # 1 GiB: dom0's root is the initramfs (tmpfs, half of dom0's memory),
                       # 170 MB of rig plus our images (5-11 MB each, with debug info).
                       "dom0_mem=1024M,max:1024M noreboot",
            # QEMU splits -initrd on commas: no comma may appear in dom0's command line.
            "-initrd", f"{os.path.join(rig_dir, 'vmlinux')} {dom0_args},{initrd}"]


def run_checks(a, checks_to_run, skipped) -> int:
    rig_dir, why = build_rig()
    if rig_dir is None:
        print(f"1..0 # SKIP {why}")
        return 0
    tap = Tap(len(checks_to_run) + len(skipped))
    for c, reason in skipped:
        tap.result(True, f"{c.name}: {c.what}", f"SKIP {reason}")
    if not checks_to_run:
        return 0
    work = tempfile.mkdtemp(prefix="xen-rig-run.")
    try:
        initrd = os.path.join(work, "dom0+rig.cpio")
        make_overlay(os.path.join(work, "rig.cpio"), checks_to_run, a.images)
        with open(initrd, "wb") as out:
            for part in (os.path.join(rig_dir, "dom0.cpio"), os.path.join(work, "rig.cpio")):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        cmd = ["timeout", "--kill-after=10", str(a.timeout), "nice"] + qemu_command(rig_dir, initrd, False, a.cpu)
        return supervise(cmd, checks_to_run, tap, a.log)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def supervise(cmd, checks, tap, log_path) -> int:
    t0 = time.monotonic()
    log = open(log_path, "w", errors="replace")
    print(f"# serial log: {os.path.abspath(log_path)}", flush=True)
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    by_name = {c.name: c for c in checks}
    reported = set()
    out_lines = {c.name: [] for c in checks}
    failed = 0
    ready = None
    tail = []
    for raw in p.stdout:
        line = raw.decode("utf-8", "replace").rstrip("\r\n").replace("\r", "")
        log.write(f"[{time.monotonic() - t0:7.2f}] {line}\n")
        log.flush()
        tail = (tail + [line])[-30:]
        if ready is None and ("Initramfs unpacking failed" in line or "Kernel panic" in line):
            print(f"# dom0 failed to boot: {line.strip()}", flush=True)
            p.terminate()  # timeout(1) passes SIGTERM on to QEMU
        m = re.search(r"@@RIG(:([\w-]+)\| ?(.*)| (\S+) ?(.*))$", line)
        if not m:
            continue
        if m.group(2):
            if m.group(2) in out_lines:
                out_lines[m.group(2)].append(m.group(3))
            continue
        verb, rest = m.group(4), m.group(5)
        if verb == "dom0-ready":
            ready = time.monotonic() - t0
            print(f"# dom0 ready {ready:.1f} s after QEMU started (dom0 uptime {rest} s)", flush=True)
        elif verb == "dom0-failed":
            print(f"# dom0 setup failed: {rest}", flush=True)
        elif verb == "end":
            name, rc, secs = (rest.split() + ["?", "?"])[:3]
            if name not in by_name or name in reported:
                continue
            reported.add(name)
            c = by_name[name]
            lines = out_lines[name]
            title = f"{name}: {c.what} ({secs} s)"
            if rc == "0":
                tap.result(True, title, diag=[l for l in lines if l.startswith("ok:") or "returned after" in l
                                              or "console line" in l]
                           + ([f"passed although listed as a gap ({c.gap}): remove the gap?"] if c.gap else []))
                for l in lines:
                    if l.startswith("ok: BENCH "):
                        print(l[4:], flush=True)
            elif rc == "77":
                reason = next((l[5:].strip() for l in reversed(lines) if l.startswith("SKIP:")), "skipped in dom0")
                tap.result(True, title, f"SKIP {reason}")
            else:
                why = "timed out in dom0" if rc in ("124", "143") else f"status {rc}"
                if not c.gap:
                    failed += 1
                tap.result(False, title, f"TODO known gap: {c.gap}" if c.gap else "",
                           diag=[f"{name} failed ({why}); its output:"] + lines[-60:])
    p.wait()
    elapsed = time.monotonic() - t0
    for c in checks:
        if c.name not in reported:
            failed += 1
            why = "QEMU timed out" if p.returncode in (124, 137) else f"QEMU exited with {p.returncode}"
            diag = [f"{c.name} never finished: {why} after {elapsed:.0f} s"]
            if not ready:
                diag += ["dom0 never got ready; the serial console's last lines:"] + tail
            else:
                diag += out_lines[c.name][-40:]
            tap.result(False, f"{c.name}: {c.what}", diag=diag)
    print(f"# QEMU ran {elapsed:.1f} s, exit status {p.returncode}", flush=True)
    log.close()
    return 1 if failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", action="append", default=[], metavar="FILE=PATH",
                    help="an image for the checks, as /rig/images/FILE in dom0")
    ap.add_argument("--checks", default="", help="comma-separated check names (default: all)")
    ap.add_argument("--log", default="xen-rig-serial.log", help="where the serial console is written")
    ap.add_argument("--timeout", type=int, default=2100, help="seconds for QEMU in all (a bound for a stuck run)")
    ap.add_argument("--cpu", default=DEFAULT_CPU, help=f"QEMU's -cpu (default {DEFAULT_CPU})")
    ap.add_argument("--shell", action="store_true", help="boot dom0 with a shell on this terminal")
    ap.add_argument("--list", action="store_true", help="list the checks")
    a = ap.parse_args()
    if a.list:
        for c in CHECKS:
            print(f"{c.name:24} {c.what}" + (f" [needs {', '.join(c.images)}]" if c.images else ""))
        return 0
    a.images = {}
    missing_images = {}
    for spec in a.image:
        name, _, path = spec.partition("=")
        if os.path.isfile(path):
            a.images[name] = path
        else:
            missing_images[name] = path
    wanted = [c for c in CHECKS if c.default]
    if a.checks:
        names = a.checks.split(",")
        unknown = [n for n in names if n not in {c.name for c in CHECKS}]
        if unknown:
            ap.error(f"unknown checks: {', '.join(unknown)} (see --list)")
        wanted = [c for c in CHECKS if c.name in names]
    if a.shell:
        return shell(a)
    if not shutil.which("qemu-system-x86_64"):
        print("1..0 # SKIP qemu-system-x86_64 is not installed (scripts/setup.sh installs qemu-system-x86)")
        return 0
    run, skipped = [], []
    for c in wanted:
        lacking = [i for i in c.images if i not in a.images]
        if lacking:
            where = ", ".join(missing_images.get(i, f"no --image {i}=...") for i in lacking)
            skipped.append((c, f"PVH image not built: {where}"))
        else:
            run.append(c)
    return run_checks(a, run, skipped)


def shell(a) -> int:
    rig_dir, why = build_rig()
    if rig_dir is None:
        raise SystemExit(why)
    work = tempfile.mkdtemp(prefix="xen-rig-shell.")
    try:
        initrd = os.path.join(work, "dom0+rig.cpio")
        make_overlay(os.path.join(work, "rig.cpio"), CHECKS, a.images, listed=[])
        with open(initrd, "wb") as out:
            for part in (os.path.join(rig_dir, "dom0.cpio"), os.path.join(work, "rig.cpio")):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        print("Booting Xen and dom0 (10-20 s); the checks are in /rig/checks, helpers in /rig/lib.sh.\n"
              "Leave with `poweroff -f` (or Ctrl-A x).", file=sys.stderr)
        return subprocess.call(["nice"] + qemu_command(rig_dir, initrd, True, a.cpu))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
