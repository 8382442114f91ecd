#!/usr/bin/env python3
"""Regression test `kvstore-inline-line-of-read-size`: kvstore stopped reading
a connection whose unparsed input was a line of exactly 64 KiB.

The server reads a connection only while less than one read (64 KiB) of its
input waits unparsed, so that a pipeline waits in the kernel rather than in
its heap; and it refuses an inline line (or a bulk or multibulk count line)
only once it is *longer* than 64 KiB. A line that had reached exactly 64 KiB
was therefore neither a command nor an error, and no byte after it was ever
read: the client waited for ever. Through the appliance's port forward that
was issue 16's intermittent "endless inline line" (one run in about twenty
under load, when the guest's first read happened to take 64 KiB at once).

Here it is made certain on kvstore-native: each case sends a line of exactly
64 KiB and waits until the server's socket has no byte left unread
(/proc/net/tcp's rx_queue), so that the server holds all of it; then one byte
more goes, and the server must answer the protocol error and close. With the
bug nothing comes back (the read times out after 60 s, a bound against a hang,
not a measurement). After each case the server must still answer PING.

    kvstore_read_size_line_test.py KVSTORE_NATIVE
"""
import os
import socket
import sys
import tempfile
import time

from kvstore_test import NativeServer, Resp

LIMIT = 64 * 1024  # kvstore's read size and its inline limit (server.h, resp.h)

# (what, bytes the parser takes before the line, the line's first byte, its
# filler, the error)
CASES = [
    ("an inline line", b"", b"x", b"x", b"-ERR Protocol error: too big inline request\r\n"),
    ("a bulk count line", b"*1\r\n", b"$", b"1", b"-ERR Protocol error: too big bulk count string\r\n"),
    ("a multibulk count line", b"", b"*", b"1", b"-ERR Protocol error: too big mbulk count string\r\n"),
]


def unread_bytes(server_port, client_port):
    """The rx_queue of the server's end of the connection (/proc/net/tcp);
    None while the kernel does not list it."""
    local = f"0100007F:{server_port:04X}"
    remote = f"0100007F:{client_port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[2] == remote:
                return int(fields[4].split(":")[1], 16)
    return None


def read_until_closed(sock):
    got = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return got
            got += chunk
    except ConnectionResetError:
        return got
    except socket.timeout:
        return got + b" (nothing more and no close within 60 s)"


def run_case(port, what, before, first, filler, want):
    # The line: `first` and filler up to exactly LIMIT bytes of unparsed input.
    line = first + filler * (LIMIT - len(first))
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        s.sendall(before + line)
        client_port = s.getsockname()[1]
        deadline = time.monotonic() + 60
        while unread_bytes(port, client_port) != 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        left = unread_bytes(port, client_port)
        if left != 0:
            return f"{what}: the server did not take the first 64 KiB ({left} bytes unread)"
        s.sendall(filler)
        got = read_until_closed(s)
    finally:
        s.close()
    print(f"{what} of 64 KiB, then one byte: {got[:80]!r}")
    if got != want:
        return f"{what} of exactly 64 KiB, then one byte more: got {got[:120]!r}, want {want!r}"
    c = Resp("127.0.0.1", port, timeout=30)
    try:
        if c.call("PING") != "PONG":
            return f"after {what}: PING not answered"
    finally:
        c.close()
    return None


def main():
    if not os.path.exists("/proc/net/tcp"):
        print("SKIP: needs /proc/net/tcp to see what the server has read")
        return 77
    exe = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory(prefix="kvstore-readsize-") as tmp:
        srv = NativeServer(exe, os.path.join(tmp, "kv.log"), "--aof", "off")
        try:
            for what, before, first, filler, want in CASES:
                why = run_case(srv.port, what, before, first, filler, want)
                if why:
                    print("FAIL " + why)
                    failures.append(why)
        finally:
            srv.kill()
    print("FAILED" if failures else "PASSED")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
