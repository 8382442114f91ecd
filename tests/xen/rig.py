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
import selectors
import shutil
import signal
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
    # Run on the host after the check passed in dom0, with (args, its output
    # lines): returns what is wrong, or None.
    host_check: object = None


# In order: checks share the control guest where that saves a boot.
CHECKS = [
    Check("control-console", [], "Linux PVH control prints through xenconsoled"),
    Check("control-console-attach", [], "xl console round trip to the control"),
    Check("control-reboot", [], "xl reboot of the control"),
    Check("control-shutdown", [], "xl shutdown of the control"),
    Check("control-net-block", [], "control over netback (ping) and blkback (both ways), xl destroy"),
    Check("hello", ["hello.xen", "hello.cfg"], "hello from the build's hello.cfg: console, argv from extra=, exit status"),
    Check("exit-status", ["exit_status.xen"], "exit status 42 visible to dom0"),
    Check("xenstore-guest", ["xenstore_guest.xen"], "the xenstore boot test"),
    Check("evtchn-pingpong", ["evtchn_pingpong.xen"], "the event-channel test"),
    Check("grants", ["grants.xen"], "the grant-table test"),
    Check("httpd-net", ["httpd.xen"], "httpd over netback: ping, a page, 1 MiB byte for byte"),
    Check("kvstore-net", ["kvstore.xen"], "kvstore over netback with redis-cli"),
    Check("block", ["blk_disk.xen"], "blkfront against blkback: the guest's flushed writes in dom0, dom0's data in the guest"),
    Check("block-discard", ["blk_multi.xen"], "discard through blkfront and blkback"),
    Check("appliance-lifecycle", ["httpd.xen"], "xl shutdown/reboot/destroy/console of an appliance"),
    # What differs from the hosted platform (docs/architecture.md, "The two platforms").
    Check("crash-report", ["crash_null.xen"], "a fault: report and backtrace on the console, domain crashed",
          host_check=lambda a, lines: symbolized(a, "crash_null.xen", lines, ["crash_here", "call_crash", "main"])),
    Check("syscall-is-ud", ["escape_syscall.xen"], "a Linux system call is #UD and crashes the domain"),
    Check("wx-not-enforced", ["wx_text.xen"], "W^X is not enforced: a write to text goes through"),
    # bench/xen/run.sh: informational figures, not tests.
    Check("bench-boot", [], "xl create -> main(): Linux PVH control, hello", default=False),
    Check("bench-httpd", ["httpd.xen"], "wrk from dom0 over netback to httpd",
          default=False),
    # Diagnostic: dom0's tools (xl, xenstore-ls, bash, ip) run many times, crashes counted.
    Check("dom0-tools", [], "dom0's tools run again and again without crashing", default=False),
]


def symbolized(a, image: str, lines: list, want: list):
    """The host half of crash-report: scripts/xen-symbolize.py names the
    backtrace the guest printed (its `console: ` lines) from the image's symbols."""
    log = "\n".join(l[len("console: "):] for l in lines if l.startswith("console: ")) + "\n"
    tool = os.path.join(HERE, "..", "..", "scripts", "xen-symbolize.py")
    r = subprocess.run([sys.executable, tool, a.images[image]], input=log, capture_output=True, text=True)
    missing = [w for w in want if not re.search(rf"\b{w}\+0x", r.stdout)]
    if r.returncode != 0 or missing:
        return (f"xen-symbolize.py (status {r.returncode}) did not name {', '.join(missing) or 'the frames'}: "
                + " | ".join((r.stdout + r.stderr).strip().splitlines()[-8:]))
    return None


def tap_escape(s: str) -> str:
    return s.replace("#", "\\#")


class Tap:
    """TAP on stdout. Held back until start(): until QEMU has shown that it runs
    here, the whole run may still turn into `1..0 # SKIP why`."""

    def __init__(self, total: int):
        self.n = 0
        self.held = ["TAP version 13", f"1..{total}"]

    def emit(self, line: str):
        if self.held is None:
            print(line, flush=True)
        else:
            self.held.append(line)

    def start(self):
        if self.held is not None:
            print("\n".join(self.held), flush=True)
            self.held = None

    def skip_all(self, why: str):
        self.held = None
        print(f"1..0 # SKIP {why}", flush=True)

    def result(self, ok: bool, name: str, directive: str = "", diag=()):
        self.n += 1
        for line in diag:
            self.emit(f"# {line}")
        d = f" # {directive}" if directive else ""
        self.emit(f"{'ok' if ok else 'not ok'} {self.n} - {tap_escape(name)}{d}")


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


def add_tools(rig: str, tools: list):
    """Host programs for the checks that dom0's cached root lacks (the benchmark's
    wrk): /rig/tools/NAME runs the host's binary with the libraries ldd lists."""
    if not tools:
        return
    lib = os.path.join(rig, "tools", "lib")
    os.makedirs(lib)
    for path in tools:
        name = os.path.basename(path)
        shutil.copy(path, os.path.join(rig, "tools", name + ".bin"))
        ldd = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
        for so in re.findall(r"=> (/\S+)", ldd):
            shutil.copy(so, os.path.join(lib, os.path.basename(so)))
        wrapper = os.path.join(rig, "tools", name)
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nLD_LIBRARY_PATH=/rig/tools/lib exec /rig/tools/{name}.bin "$@"\n')
        os.chmod(wrapper, 0o755)


def make_overlay(path: str, checks: list, images: dict, listed=None, tools=()):
    """The per-run archive: /rig/{run,lib.sh,checks/,checks.list,images/,tools/}."""
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
        # The runner's BENCH_* and PATIENCE settings, for dom0/lib.sh to source.
        with open(os.path.join(rig, "env"), "w") as f:
            for k, v in sorted(os.environ.items()):
                if (k.startswith("BENCH_") or k == "PATIENCE") and re.fullmatch(r"[\w.-]*", v):
                    f.write(f"{k}={v}\n")
        add_tools(rig, list(tools))
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
    if names & {"httpd-net", "appliance-lifecycle", "bench-httpd"}:
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
    # The last point says whether the machine itself ran to its end: a QEMU that
    # was killed, crashed or never powered off fails it, whatever the checks said.
    tap = Tap(len(checks_to_run) + len(skipped) + (1 if checks_to_run else 0))
    for c, reason in skipped:
        tap.result(True, f"{c.name}: {c.what}", f"SKIP {reason}")
    if not checks_to_run:
        tap.start()
        return 0
    work = tempfile.mkdtemp(prefix="xen-rig-run.")
    try:
        initrd = os.path.join(work, "dom0+rig.cpio")
        make_overlay(os.path.join(work, "rig.cpio"), checks_to_run, a.images, tools=a.tools)
        with open(initrd, "wb") as out:
            for part in (os.path.join(rig_dir, "dom0.cpio"), os.path.join(work, "rig.cpio")):
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, out, 1 << 20)
        cmd = ["nice"] + qemu_command(rig_dir, initrd, False, a.cpu)
        return Supervisor(cmd, checks_to_run, tap, a).run()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def die_with_parent():
    """In QEMU's child before exec: SIGKILL when rig.py dies, however it dies (a
    SIGKILLed runner must not leave an emulator running for half an hour)."""
    import ctypes
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


# Lines on the serial console after which the machine can only hang: Xen halts on
# a panic (`noreboot`), and dom0's /init is gone after its own panic. Lines from a
# domU's console_io are prefixed "(dN)" and do not count.
FATAL = re.compile(r"^(\(XEN\) )?(Panic on CPU \d+|Kernel panic - not syncing|Initramfs unpacking failed)")
# QEMU's own words when this host cannot give it what it needs: the only case
# where the run is a skip rather than a failure.
CANNOT_RUN = re.compile(r"qemu-system-x86_64: .*(Cannot allocate memory|cannot set up guest memory)")


class Supervisor:
    """Runs QEMU, turns its serial console into TAP, and ends a run that is stuck:
    past --timeout in all, no sign of life for --stall seconds (dom0 prints a
    heartbeat every 15 s while checks run), or a panic on the console."""

    def __init__(self, cmd, checks, tap, a):
        self.cmd, self.checks, self.tap, self.a = cmd, checks, tap, a
        self.by_name = {c.name: c for c in checks}
        self.reported = set()
        self.out_lines = {c.name: [] for c in checks}
        self.failed = 0
        self.ready = None
        self.done = False
        self.tail = []
        self.stopped = None   # why the runner ended QEMU, if it did
        self.p = None

    def stop(self, why: str):
        if self.stopped is None:
            self.stopped = why
            self.tap.emit(f"# stopping QEMU: {why}")
        if self.p and self.p.poll() is None:
            self.p.terminate()
            self.kill_at = time.monotonic() + 10

    def run(self) -> int:
        self.t0 = time.monotonic()
        self.kill_at = None
        self.log = open(self.a.log, "w", errors="replace")
        self.tap.emit(f"# serial log: {os.path.abspath(self.a.log)}")
        old = {s: signal.signal(s, lambda n, _f: self.stop(f"rig.py got signal {signal.Signals(n).name}"))
               for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        try:
            self.p = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, preexec_fn=die_with_parent)
            self.pump()
            self.p.wait()
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            if self.p and self.p.poll() is None:
                self.p.kill()
                self.p.wait()
            self.log.close()
        return self.report()

    def pump(self):
        fd = self.p.stdout.fileno()
        sel = selectors.DefaultSelector()
        sel.register(fd, selectors.EVENT_READ)
        buf = b""
        alive = self.t0
        while True:
            now = time.monotonic()
            if self.kill_at and now > self.kill_at and self.p.poll() is None:
                self.p.kill()
            if now - self.t0 > self.a.timeout:
                self.stop(f"the run went past its bound of {self.a.timeout} s (--timeout)")
            elif now - alive > self.a.stall:
                where = "before dom0 was ready" if self.ready is None else "from dom0 (its heartbeat stopped)"
                self.stop(f"no sign of life {where} for {now - alive:.0f} s (--stall {self.a.stall})")
            if not sel.select(timeout=1.0):
                if self.p.poll() is not None:
                    break  # QEMU is gone; whatever still holds the pipe is not ours to wait for
                continue
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for raw in lines:
                alive = time.monotonic()
                self.line(raw.decode("utf-8", "replace").rstrip("\r").replace("\r", ""))
        if buf:
            self.line(buf.decode("utf-8", "replace"))

    def line(self, line: str):
        elapsed = time.monotonic() - self.t0
        self.log.write(f"[{elapsed:7.2f}] {line}\n")
        self.log.flush()
        self.tail = (self.tail + [line])[-30:]
        if "(XEN)" in line or "Linux version" in line:
            self.tap.start()   # QEMU runs here: from now on, anything wrong is a failure
        if FATAL.search(line):
            self.stop(f"{line.strip()} ({elapsed:.0f} s after QEMU started)")
        m = re.search(r"@@RIG(:([\w-]+)\| ?(.*)| (\S+) ?(.*))$", line)
        if not m:
            return
        if m.group(2):
            if m.group(2) in self.out_lines:
                self.out_lines[m.group(2)].append(m.group(3))
            return
        verb, rest = m.group(4), m.group(5)
        if verb == "dom0-ready":
            self.ready = elapsed
            self.tap.emit(f"# dom0 ready {elapsed:.1f} s after QEMU started (dom0 uptime {rest} s)")
        elif verb == "dom0-failed":
            self.tap.emit(f"# dom0 setup failed: {rest}")
        elif verb == "done":
            self.done = True
        elif verb == "end":
            self.end(rest)

    def end(self, rest: str):
        name, rc, secs = (rest.split() + ["?", "?"])[:3]
        if name not in self.by_name or name in self.reported:
            return
        self.reported.add(name)
        c = self.by_name[name]
        lines = self.out_lines[name]
        title = f"{name}: {c.what} ({secs} s)"
        if rc == "0" and c.host_check:
            problem = c.host_check(self.a, lines)
            if problem:
                lines = lines + [f"on the host: {problem}"]
                rc = "1"
        if rc == "0":
            self.tap.result(True, title, diag=[l for l in lines if l.startswith("ok:") or "returned after" in l
                                               or "console line" in l]
                            + ([f"passed although listed as a gap ({c.gap}): remove the gap?"] if c.gap else []))
            for l in lines:
                if l.startswith("ok: BENCH"):
                    self.tap.emit(l[4:])
        elif rc == "77":
            reason = next((l[5:].strip() for l in reversed(lines) if l.startswith("SKIP:")), "skipped in dom0")
            self.tap.result(True, title, f"SKIP {reason}")
        else:
            why = "timed out in dom0" if rc in ("124", "143") else f"status {rc}"
            if not c.gap:
                self.failed += 1
            self.tap.result(False, title, f"TODO known gap: {c.gap}" if c.gap else "",
                            diag=[f"{name} failed ({why}); its output:"] + lines[-60:])

    def report(self) -> int:
        elapsed = time.monotonic() - self.t0
        rc = self.p.returncode
        qemu = f"QEMU was killed by {signal.Signals(-rc).name}" if rc < 0 else f"QEMU exited with status {rc}"
        if self.ready is None and self.stopped is None and rc != 0:
            cannot = next((l for l in self.tail if CANNOT_RUN.search(l)), None)
            if cannot:
                self.tap.skip_all(f"QEMU cannot run here: {cannot.strip()}")
                return 0
        self.tap.start()
        for c in self.checks:
            if c.name not in self.reported:
                self.failed += 1
                diag = [f"{c.name} never finished: {self.stopped or qemu} after {elapsed:.0f} s"]
                if self.ready is None:
                    diag += ["dom0 never got ready; the serial console's last lines:"] + self.tail
                else:
                    diag += self.out_lines[c.name][-40:]
                self.tap.result(False, f"{c.name}: {c.what}", diag=diag)
        clean = rc == 0 and self.done and self.stopped is None
        why = [] if clean else [
            f"{self.stopped or qemu}" + ("" if self.done else "; dom0 never reached the end of its run"),
            "the serial console's last lines:"] + self.tail[-15:]
        self.tap.result(clean, f"rig: dom0 ran every check and powered off; {qemu} after {elapsed:.0f} s", diag=why)
        if not clean:
            self.failed += 1
        return 1 if self.failed else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", action="append", default=[], metavar="FILE=PATH",
                    help="an image for the checks, as /rig/images/FILE in dom0")
    ap.add_argument("--checks", default="", help="comma-separated check names (default: all)")
    ap.add_argument("--log", default="xen-rig-serial.log", help="where the serial console is written")
    ap.add_argument("--timeout", type=int, default=2100, help="seconds for QEMU in all (a bound for a stuck run)")
    ap.add_argument("--stall", type=int, default=420,
                    help="seconds without a line on the serial console (dom0 prints one every 15 s) "
                         "after which the run is stuck (default 420)")
    ap.add_argument("--tool", action="append", default=[], metavar="PATH",
                    help="a host program for the checks, as /rig/tools/NAME in dom0 with its libraries")
    ap.add_argument("--cpu", default=DEFAULT_CPU, help=f"QEMU's -cpu (default {DEFAULT_CPU})")
    ap.add_argument("--shell", action="store_true", help="boot dom0 with a shell on this terminal")
    ap.add_argument("--list", action="store_true", help="list the checks")
    a = ap.parse_args()
    if a.list:
        for c in CHECKS:
            print(f"{c.name:24} {c.what}" + (f" [needs {', '.join(c.images)}]" if c.images else ""))
        return 0
    a.tools = a.tool
    for t in a.tools:
        if not os.access(t, os.X_OK):
            ap.error(f"--tool {t}: not an executable file")
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
        make_overlay(os.path.join(work, "rig.cpio"), CHECKS, a.images, listed=[], tools=a.tools)
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
