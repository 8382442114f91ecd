"""What the daemon's tests share: checks that collect failures, bounded
waits, an `atoll` bound to one daemon's socket, and the daemon's processes."""
import json
import os
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
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


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


def start_daemon(atoll, sock, log):
    """`atoll daemon --socket SOCK`, answering; its Popen."""
    d = subprocess.Popen([atoll.exe, "daemon", "--socket", sock], stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                         env=atoll.env)
    wait_for(lambda: atoll.run("info").returncode == 0 or d.poll() is not None, "the daemon to answer")
    check(d.poll() is None, "the daemon is running")
    return d


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
