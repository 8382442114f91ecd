"""What the daemon's tests (and bench/fleet) share: checks that collect
failures, bounded waits, an `atoll` bound to one daemon's socket, the
daemon's processes, config files, and a client of the daemon's own protocol
(one JSON line each way per connection, docs/fleet.md) that keeps many
creates in flight at once, for bursts without an exec per domain."""
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import time

failures = []  # every failed check, in order


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def wait_for(pred, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    check(False, "timed out waiting for " + what)
    return False


def skip(reason):
    """Meson's skip: exit 77 with the reason."""
    print("SKIP:", reason, flush=True)
    raise SystemExit(77)


def fnv1a(data):
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h


class Atoll:
    """The `atoll` CLI talking to the daemon at `sock` (never the user's own)."""

    def __init__(self, exe, sock):
        self.exe = exe
        self.env = dict(os.environ, ATOLL_SOCKET=sock)

    def run(self, *args, timeout=60, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        return subprocess.run([self.exe] + list(args), capture_output=True, text=True, env=self.env, timeout=timeout,
                              **kw)

    def popen(self, *args, **kw):
        return subprocess.Popen([self.exe] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.env, **kw)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        check(r.returncode == 0, f"atoll {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
        return r

    def domains(self):
        r = self.run("list", "--json")
        return {d["name"]: d for d in json.loads(r.stdout)} if r.returncode == 0 else {}

    def history(self, name):
        r = self.run("log", name)
        return r.stdout.split("--- console history ---\n", 1)[-1] if r.returncode == 0 else ""

    def create(self, cfg_dir, name, kernel, vifs, extra=""):
        """`atoll create` of a config written to cfg_dir/NAME.cfg."""
        path = os.path.join(cfg_dir, name + ".cfg")
        with open(path, "w") as f:
            f.write(f"name = '{name}'\nkernel = '{kernel}'\nmemory = 16\nvif = [ {', '.join(repr(v) for v in vifs)} ]\n{extra}")
        return self.run("create", path)


def children(pid):
    """Every thread's children (the daemon's pool starts its loaders from a
    thread of its own)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found


def seccomp_mode(pid):
    """/proc's Seccomp field: 2 once a guest has sealed itself, 0 before."""
    return status_field(pid, "Seccomp")


def guests(pid):
    """The daemon's children that are sealed guests (not its helpers, nor the
    loaders it keeps started ahead of creates)."""
    return [p for p in children(pid) if comm(p) == "atoll-loader" and seccomp_mode(p) == 2]


def pooled(pid):
    """The loaders the daemon keeps started ahead, waiting for a domain."""
    return [p for p in children(pid) if comm(p) == "atoll-loader" and seccomp_mode(p) == 0]


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def exists(pid):
    """Whether the pid is still a process at all (a zombie counts: not reaped)."""
    return os.path.exists(f"/proc/{pid}")


def alive(pid):
    """Whether the pid still runs (a zombie whose parent is gone does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def start_daemon(atoll, sock, log, *extra):
    """`atoll daemon --socket SOCK [EXTRA...]`, answering; its Popen."""
    d = subprocess.Popen([atoll.exe, "daemon", "--socket", sock, *extra], stdin=subprocess.DEVNULL, stdout=log,
                         stderr=log, env=atoll.env)
    wait_for(lambda: atoll.run("info").returncode == 0 or d.poll() is not None, "the daemon to answer")
    check(d.poll() is None, "the daemon is running")
    return d


def daemon_in(tmp, exe, *extra):
    """An `atoll daemon` on a socket in `tmp`, logging to tmp/daemon.log:
    (Atoll for it, the log file, the daemon's Popen)."""
    sock = os.path.join(tmp, "atoll.sock")
    atoll = Atoll(exe, sock)
    log = open(os.path.join(tmp, "daemon.log"), "w+")
    return atoll, log, start_daemon(atoll, sock, log, *extra)


def stop_daemon(daemon, log):
    """SIGTERM, which must end it with status 0; returns what it logged."""
    daemon.send_signal(signal.SIGTERM)
    check(daemon.wait(timeout=60) == 0, "SIGTERM stops the daemon with status 0")
    log.seek(0)
    return log.read()


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def own_threads(pid):
    """(the daemon's own threads, io_uring's io-wq workers): the kernel starts
    the workers (iou-wrk-PID) for blocking ring operations, such as the disk
    files' writes, and ends them when idle, at its own pace."""
    names = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/comm") as f:
                names.append(f.read().strip())
        except OSError:
            pass
    workers = sum(n.startswith("iou-wrk-") for n in names)
    return len(names) - workers, workers


# What bench/fleet measures of the host and its processes.
def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return sum(int(line.split()[1]) for line in f if line.startswith("Pss:"))
    except OSError:
        return 0


def cpu_ms(pid):
    """CPU time a process has had so far, in ms, every thread of it (schedstat's
    run time: exact, where stat's utime and stime count 10 ms ticks and miss a
    short boot)."""
    total = 0
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e6


def write_cfg(d, name, kernel, extra=""):
    path = os.path.join(d, name + ".cfg")
    with open(path, "w") as f:
        f.write(f"name = '{name}'\nkernel = '{kernel}'\nmemory = 16\nvif = []\n{extra}")
    return path


def create(atoll, cfg):
    r = atoll.run("create", cfg)
    m = re.search(r"created: id (\d+)", r.stdout)
    check(r.returncode == 0 and m, f"create {cfg}: {r.returncode} {r.stdout.strip()} {r.stderr.strip()}")
    return int(m.group(1)) if m else None


def run_args(name, image, memory_mib=16):
    """The `atoll run` arguments `atoll create` sends for a vif-less config."""
    return ["--name", name, "--memory", f"{memory_mib * 1024}K", "--net", "none", image, "--"]


def curl(port, path="/index.html", host="127.0.0.1"):
    """The body curl gets, or None."""
    r = subprocess.run(["curl", "-s", "--max-time", "10", f"http://{host}:{port}{path}"], capture_output=True,
                       timeout=30)
    return r.stdout if r.returncode == 0 else None


def verdict(test, daemon_log):
    """The exit status: 1 with the daemon's log when a check failed."""
    if failures:
        print(f"{len(failures)} failure(s); the daemon's log:\n{daemon_log[-4000:]}")
        return 1
    print(f"{test}: all checks passed")
    return 0


class Protocol:
    """The daemon's socket protocol, without the CLI's exec."""

    def __init__(self, sock):
        self.sock = sock

    def _connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(self.sock)
        return s

    def request(self, verb, **fields):
        with self._connect() as s:
            s.sendall((json.dumps(dict(verb=verb, **fields)) + "\n").encode())
            s.shutdown(socket.SHUT_WR)
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        return json.loads(data) if data else {"ok": False, "error": "no answer"}

    def domains(self):
        return self.request("list").get("domains", [])

    def burst(self, requests, window=32):
        """Sends every request (verb dicts), at most `window` in flight at once;
        returns the answers in order."""
        sel = selectors.DefaultSelector()
        answers = [None] * len(requests)
        pending = list(enumerate(requests))[::-1]
        in_flight = 0
        while pending or in_flight:
            while pending and in_flight < window:
                i, req = pending.pop()
                s = self._connect()
                s.sendall((json.dumps(req) + "\n").encode())
                s.shutdown(socket.SHUT_WR)
                sel.register(s, selectors.EVENT_READ, [i, b""])
                in_flight += 1
            for key, _ in sel.select():
                s, state = key.fileobj, key.data
                chunk = s.recv(1 << 16)
                state[1] += chunk
                if not chunk or state[1].endswith(b"\n"):
                    sel.unregister(s)
                    s.close()
                    in_flight -= 1
                    answers[state[0]] = json.loads(state[1]) if state[1] else {"ok": False, "error": "no answer"}
        sel.close()
        return answers
