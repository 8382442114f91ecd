#!/usr/bin/env python3
"""Debian's real xenstore-* tools (package xenstore-utils) against atoll-xenstored.

Starts the daemon on a private socket, points the tools at it with
XENSTORED_PATH, and checks what they print. Exits 77 (skip) when the tools are
not installed.

    xenstore_tools.py PATH/TO/atoll-xenstored
"""
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TOOLS = ["xenstore-read", "xenstore-write", "xenstore-ls", "xenstore-list", "xenstore-rm",
         "xenstore-exists", "xenstore-chmod", "xenstore-watch"]
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def tool(env, *args, timeout=10):
    r = subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def read_line(proc, timeout=5.0):
    """One line of a child's stdout, or None after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    line = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if not ready:
            break
        c = os.read(proc.stdout.fileno(), 1)
        if not c:
            break
        if c == b"\n":
            return line.decode()
        line += c
    return None


def start_daemon(daemon, sock):
    proc = subprocess.Popen([daemon, "--socket", sock], stdout=subprocess.PIPE)
    first = read_line(proc)
    check(first == sock, f"atoll-xenstored prints its socket path ({first!r})")
    mode = os.stat(sock).st_mode & 0o777
    check(mode == 0o600, f"the socket is owner-only (mode {oct(mode)})")
    return proc


def test_read_write_list(env):
    rc, _, err = tool(env, "xenstore-write", "/conf/a", "hello", "/conf/b", "world")
    check(rc == 0, f"xenstore-write two keys (rc {rc}, {err.strip()})")
    check(tool(env, "xenstore-read", "/conf/a")[1] == "hello\n", "xenstore-read")
    out = tool(env, "xenstore-read", "-p", "/conf/a", "/conf/b")[1]
    check(out == "/conf/a: hello\n/conf/b: world\n", f"xenstore-read -p ({out!r})")
    rc, out, err = tool(env, "xenstore-read", "/conf/missing")
    check(rc == 1 and "couldn't read path" in err, f"xenstore-read of a missing key fails (rc {rc})")
    check(tool(env, "xenstore-exists", "/conf/a")[0] == 0, "xenstore-exists (present)")
    check(tool(env, "xenstore-exists", "/conf/zz")[0] == 1, "xenstore-exists (absent)")
    out = tool(env, "xenstore-list", "/conf")[1]
    check(out == "a\nb\n", f"xenstore-list ({out!r})")
    out = tool(env, "xenstore-list", "-p", "/conf")[1]
    check(out == "/conf/a\n/conf/b\n", f"xenstore-list -p ({out!r})")
    long_value = "v" * 3000
    check(tool(env, "xenstore-write", "/conf/long", long_value)[0] == 0, "write a 3000-byte value")
    check(tool(env, "xenstore-read", "/conf/long")[1] == long_value + "\n", "read it back")
    check(tool(env, "xenstore-write", "relative", "r")[0] == 0, "write a relative path")
    check(tool(env, "xenstore-read", "/local/domain/0/relative")[1] == "r\n",
          "relative paths resolve under /local/domain/0")


def test_ls_and_chmod(env):
    out = tool(env, "xenstore-ls", "/conf")[1]
    check('a = "hello"' in out and 'b = "world"' in out, f"xenstore-ls ({out[:60]!r}...)")
    out = tool(env, "xenstore-ls", "-f", "/conf")[1]
    check('/conf/a = "hello"' in out, "xenstore-ls -f prints full paths")
    out = tool(env, "xenstore-ls")[1]
    check("tool = " in out and "local = " in out and 'name = "Domain-0"' in out,
          "xenstore-ls of the whole store")
    rc, _, err = tool(env, "xenstore-chmod", "/conf/a", "n5", "r0")
    check(rc == 0, f"xenstore-chmod (rc {rc}, {err.strip()})")
    out = tool(env, "xenstore-ls", "-f", "-p", "/conf")[1]
    check(any(l.startswith("/conf/a =") and "(n5,r0)" in l for l in out.splitlines()),
          "xenstore-ls -p shows the new permissions")
    check(any(l.startswith("/conf/b =") and "(n0)" in l for l in out.splitlines()),
          "and the old ones elsewhere")
    rc, _, _ = tool(env, "xenstore-chmod", "-r", "/conf", "b3")
    out = tool(env, "xenstore-ls", "-f", "-p", "/conf")[1]
    lines = [l for l in out.splitlines() if l.startswith("/conf/")]
    check(rc == 0 and lines and all("(b3)" in l for l in lines), "xenstore-chmod -r recurses")
    rc, _, _ = tool(env, "xenstore-chmod", "/conf/a", "x1")
    check(rc != 0, "xenstore-chmod with a bad mode fails")


def test_rm(env):
    check(tool(env, "xenstore-rm", "/conf/b")[0] == 0, "xenstore-rm")
    check(tool(env, "xenstore-read", "/conf/b")[0] == 1, "the key is gone")
    check(tool(env, "xenstore-rm", "/conf/never")[0] == 0, "removing a missing key of an existing parent is fine")
    check(tool(env, "xenstore-rm", "/nowhere/never")[0] == 1, "removing under a missing parent fails")
    tool(env, "xenstore-write", "/tidy/x/y", "")
    check(tool(env, "xenstore-rm", "-t", "/tidy/x/y")[0] == 0, "xenstore-rm -t")
    check(tool(env, "xenstore-exists", "/tidy")[0] == 1, "-t removed the empty parents")


def test_big_directory(env):
    names = [f"child-with-a-rather-long-name-{i:04d}" for i in range(300)]
    args = []
    for n in names:
        args += [f"/big/{n}", "x"]
    check(tool(env, "xenstore-write", *args)[0] == 0, "300 keys in one xenstore-write (one transaction)")
    out = tool(env, "xenstore-list", "/big")[1].split()
    check(out == names, f"xenstore-list of a listing larger than one message ({len(out)} names)")


def test_watch(env):
    w = subprocess.Popen(["xenstore-watch", "/conf/w"], env=env, stdout=subprocess.PIPE)
    try:
        first = read_line(w)
        check(first == "/conf/w", f"xenstore-watch prints the first fire ({first!r})")
        tool(env, "xenstore-write", "/conf/w/x", "1")
        got = read_line(w)
        check(got == "/conf/w/x", f"xenstore-watch prints a change below the path ({got!r})")
        tool(env, "xenstore-write", "/conf/other", "1")
        tool(env, "xenstore-rm", "/conf/w")
        got = read_line(w)
        check(got == "/conf/w", f"and the removal, not an unrelated change ({got!r})")
    finally:
        w.kill()
        w.wait()
    w = subprocess.Popen(["xenstore-watch", "-n", "2", "/conf/n"], env=env, stdout=subprocess.PIPE)
    read_line(w)
    tool(env, "xenstore-write", "/conf/n", "1")
    try:
        rc = w.wait(timeout=5)
    except subprocess.TimeoutExpired:
        w.kill()
        rc = None
    check(rc == 0, f"xenstore-watch -n 2 exits after two events (rc {rc})")


def test_hostile_client(env, sock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(struct.pack("<IIII", 2, 1, 0, 0xFFFFFFFF))
    s.settimeout(5)
    try:
        closed = s.recv(16) == b""
    except OSError:
        closed = True
    s.close()
    check(closed, "a client announcing a 4 GiB message is hung up on")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall(struct.pack("<IIII", 2, 1, 0, 100) + b"/conf")  # a length that lies, then silence
    check(tool(env, "xenstore-read", "/conf/a")[0] == 0, "a stalled client does not stall the others")
    s.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        print("skip: xenstore-utils is not installed (" + ", ".join(missing) + ")")
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "xenstored.sock")
        daemon = start_daemon(sys.argv[1], sock)
        env = dict(os.environ, XENSTORED_PATH=sock)
        try:
            test_read_write_list(env)
            test_ls_and_chmod(env)
            test_rm(env)
            test_big_directory(env)
            test_watch(env)
            test_hostile_client(env, sock)
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                rc = daemon.wait(timeout=5)
            except subprocess.TimeoutExpired:
                daemon.kill()
                rc = None
        check(rc == 0, f"SIGTERM stops the daemon cleanly (rc {rc})")
        check(not os.path.exists(sock), "and removes its socket")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
