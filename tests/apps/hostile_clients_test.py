#!/usr/bin/env python3
"""Misbehaving real clients against the appliances: curl with odd methods and
headers, raw bytes from nc and from sockets (binary garbage, NUL bytes, a
100 KiB request line, a header section that never ends, HTTP/0.9 and
HTTP/2.0 request lines, requests cut mid-line), and for kvstore RESP garbage,
an oversized bulk length, an inline line over the limit, a pipeline cut
mid-command, redis-cli with unknown commands and the wrong arity. Each must be
answered with the right error (status code, RESP error text) or a clean
close, and after each the appliance must still answer a normal request.
httpd_test.py and kvstore_test.py hold the well-formed checks and the first
malformed ones; these are the rest.

    hostile_clients_test.py httpd ATOLL HTTPD_DEMO_IMAGE
    hostile_clients_test.py kvstore ATOLL KVSTORE_IMAGE

Skips (77) without curl and nc (httpd) or redis-cli and nc (kvstore)."""

import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

from appliance import free_port, httpd_behind, kvstore_behind, new_disk, report
from httpd_test import CheckFailed, curl, parse_head
from kvstore_test import Resp, encode

INDEX_MARK = b"Hello from an Atoll appliance"  # apps/httpd/site/index.html


def nc(port, data, wait=5):
    """Sends `data` with OpenBSD nc, half-closes (-N) and returns what came
    back before the server closed (or `wait` seconds of silence)."""
    r = subprocess.run(["nc", "-N", "-w", str(wait), "127.0.0.1", str(port)], input=data, capture_output=True,
                       timeout=60)
    return r.stdout


def read_until_closed(sock, limit=1 << 20):
    """What the server sends until it closes (a reset counts as a close)."""
    got = b""
    try:
        while len(got) < limit:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    except ConnectionResetError:
        pass
    return got


def send_until_closed(port, head, filler, limit):
    """Sends `head`, then `filler` over and over until the server stops
    reading and closes or `limit` bytes went out; returns what it answered.
    A thread sends so that the answer is read while the sender still sends."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)

    def sender():
        try:
            s.sendall(head)
            sent = len(head)
            while sent < limit:
                s.sendall(filler)
                sent += len(filler)
        except OSError:
            pass  # the server closed: what it sent is what counts

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got = read_until_closed(s)
    s.close()
    t.join(60)
    return got


def status_of(reply):
    """The status code of the first response in `reply`, or None."""
    end = reply.find(b"\r\n\r\n")
    if not reply.startswith(b"HTTP/") or end < 0:
        return None
    return parse_head(reply[:end])[0]


# ------------------------------------------------------------------ httpd

class HttpdCases:
    def __init__(self, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.failures = []

    def check(self, name, ok, detail=""):
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
        if not ok:
            self.failures.append(name + ": " + detail)

    def still_serves(self, after):
        try:
            r = curl(self.url + "/")
            ok = r.status == 200 and INDEX_MARK in r.body
            detail = f"GET / gave {r.status}"
        except CheckFailed as e:
            ok, detail = False, str(e)
        if not ok:
            self.check(f"a normal GET after {after}", False, detail)

    def curl_status(self, *args, path="/"):
        try:
            return curl(self.url + path, *args).status
        except CheckFailed as e:
            return str(e)

    def case(self, name, want, got):
        """`want` is a status code or a set of acceptable outcomes; "closed"
        stands for a clean close without an answer."""
        wants = want if isinstance(want, (set, tuple)) else {want}
        self.check(f"{name} -> {got}", got in wants, f"want {sorted(map(str, wants))}")
        self.still_serves(name)

    def raw_status(self, data):
        reply = nc(self.port, data)
        return status_of(reply) if reply else "closed"

    def half_closed_status(self, data):
        """Like raw_status, but tells a close from silence: the server runs
        with a header timeout of 300 s, so a close within the 60 s this waits
        is its answer to the half-close, not the timeout."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            reply = read_until_closed(s)
        except socket.timeout:
            return "left open"
        finally:
            s.close()
        return status_of(reply) if reply else "closed"

    def run(self):
        c = self.case
        # Odd methods from curl: methods are tokens, so unknown ones are 405;
        # what is no token (a space, a colon) or no method at all is 400.
        c("curl -X BREW", 405, self.curl_status("-X", "BREW"))
        c("curl -X PROPFIND", 405, self.curl_status("-X", "PROPFIND"))
        c("curl -X 'GET /x' (a space in the method)", 400, self.curl_status("-X", "GET /x"))
        c("curl -X 'G:ET'", 400, self.curl_status("-X", "G:ET"))
        c("curl -X get (methods are case-sensitive)", 405, self.curl_status("-X", "get"))
        c("curl -X '' (no method: ' / HTTP/1.1')", 400, self.curl_status("-X", ""))
        # Odd and oversized headers.
        c("curl -H 'X-Empty;' (an empty field)", 200, self.curl_status("-H", "X-Empty;"))
        c("curl -H 'Bad Name: x'", 400, self.curl_status("-H", "Bad Name: x"))
        c("curl with a 15 KiB field value", 200, self.curl_status("-H", "X-Big: " + "v" * (15 << 10)))
        c("curl with a 20 KiB field value", 413, self.curl_status("-H", "X-Big: " + "v" * (20 << 10)))
        c("Host twice", 400, self.raw_status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"))
        c("curl -H 'Content-Length: -1'", 400, self.curl_status("-H", "Content-Length: -1"))
        c("Content-Length of 30 digits", 400,
          self.raw_status(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: " + b"9" * 30 + b"\r\n\r\n"))
        c("two different Content-Lengths", 400,
          self.raw_status(b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxx"))
        c("a field folded over two lines", 400, self.raw_status(b"GET / HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n"))
        c("a NUL in a field value", 400, self.raw_status(b"GET / HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n"))
        c("lines ended by a bare LF (RFC 9112 lets a server take them)", 200,
          self.raw_status(b"GET / HTTP/1.1\nHost: t\n\n"))
        # Raw bytes from nc.
        garbage = random.Random(16).randbytes(4096)
        c("4 KiB of binary garbage", 400, self.raw_status(garbage))
        c("NUL bytes", 400, self.raw_status(b"\x00" * 64 + b"\r\n\r\n"))
        c("NUL in the request target", 400, self.raw_status(b"GET /ind\x00ex.html HTTP/1.1\r\nHost: t\r\n\r\n"))
        c("HTTP/0.9 request line", 400, self.raw_status(b"GET /\r\n"))
        c("HTTP/2.0 request line", 505, self.raw_status(b"GET / HTTP/2.0\r\nHost: t\r\n\r\n"))
        c("HTTP/2 connection preface", {400, 505}, self.raw_status(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
        c("HTTP/9.9", 505, self.raw_status(b"GET / HTTP/9.9\r\nHost: t\r\n\r\n"))
        c("HTTP/1.9 (a later 1.x is served as 1.1)", 200, self.raw_status(b"GET / HTTP/1.9\r\nHost: t\r\n\r\n"))
        # Sizes beyond the limits, sent as fast as the server takes them
        # (within the 1 MiB httpd reads while it lingers after an error, so
        # that no reset can overtake the answer).
        got = send_until_closed(self.port, b"GET /", b"a" * 4096, limit=100 << 10)
        c("a request line of 100 KiB", 414, status_of(got) if got else "closed")
        got = send_until_closed(self.port, b"GET / HTTP/1.1\r\nHost: t\r\n", b"X-More: " + b"m" * 100 + b"\r\n",
                                limit=512 << 10)
        c("a header section that does not end (512 KiB of fields)", 413, status_of(got) if got else "closed")
        got = send_until_closed(self.port, b"", b"\r\n", limit=512 << 10)
        c("512 KiB of empty lines before a request line", 400, status_of(got) if got else "closed")
        # Requests cut mid-line, then closed (nc half-closes): the server
        # closes its end without an answer; a whole head is answered first.
        for cut, want in ((b"GET /index.ht", "closed"), (b"GET / HTTP/1.1\r\nHo", "closed"),
                          (b"GET / HTTP/1.1\r\nHost: t\r\n", "closed"),
                          (b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly ten b", 405)):
            c(f"cut after {cut[-12:]!r}", want, self.half_closed_status(cut))
        for cut in (b"GET /index.ht", b"GET / HTTP/1.1\r\nHost: t\r\nX-A: 1"):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            s.sendall(cut)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.close()  # a reset, not a FIN: nothing to answer; the server must go on
            self.still_serves(f"a reset after {cut[-12:]!r}")
        return self.failures


# ------------------------------------------------------------------ kvstore

class KvCases:
    def __init__(self, port):
        self.port = port
        self.failures = []

    def check(self, name, ok, detail=""):
        print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))
        if not ok:
            self.failures.append(name + ": " + detail)

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, timeout=30)
        return r.stdout.decode(errors="replace").strip()

    def still_serves(self, after):
        c = Resp("127.0.0.1", self.port, timeout=30)
        try:
            ok = c.call("PING") == "PONG" and c.call("SET", "probe", after) == "OK" and \
                c.call("GET", "probe") == after.encode()
        except (OSError, EOFError, ValueError) as e:
            ok = False
            after += f" ({e!r})"
        c.close()
        if not ok:
            self.check(f"PING, SET, GET after {after}", False, "not answered")

    def raw(self, data):
        """Sends `data` on a fresh connection and half-closes it; returns all
        the server sent before it closed."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            return read_until_closed(s)
        finally:
            s.close()

    def case(self, name, ok, got):
        self.check(name, ok, f"got {got[:300]!r}")
        self.still_serves(name)

    def run(self):
        c = self.case
        # redis-cli with unknown commands and the wrong arity.
        got = self.cli("BREW", "coffee")
        c("redis-cli BREW coffee", got.startswith("ERR unknown command 'BREW', with args beginning with: 'coffee'"),
          got)
        got = self.cli("GET")
        c("redis-cli GET (no key)", got == "ERR wrong number of arguments for 'get' command", got)
        got = self.cli("SET", "k")
        c("redis-cli SET k", got == "ERR wrong number of arguments for 'set' command", got)
        got = self.cli("EXPIRE", "k", "not-a-number")
        c("redis-cli EXPIRE k not-a-number", got == "ERR value is not an integer or out of range", got)
        got = self.cli("SET", "k", "v", "NX", "XX")
        c("redis-cli SET k v NX XX", got == "ERR syntax error", got)
        # RESP garbage with nc: it may say why and close, never answer as if
        # it had been a command, and the server lives on.
        garbage = random.Random(16).randbytes(4096)
        got = nc(self.port, garbage)
        lines = [l for l in got.split(b"\r\n") if l]
        c("4 KiB of binary garbage", all(l.startswith(b"-ERR") for l in lines), got)
        got = nc(self.port, b"*1\r\n$4\r\nPI\x00G\r\n")
        c("a NUL inside a command name", got.startswith(b"-ERR unknown command 'PI"), got)
        got = nc(self.port, b"\x00\x00\x00\x00\r\nPING\r\n")
        c("an inline line of NULs is empty (sdssplitargs stops at a NUL), skipped", got == b"+PONG\r\n", got)
        got = nc(self.port, b"*-5\r\n*0\r\nPING\r\n")
        c("empty and negative multibulk counts are skipped", got == b"+PONG\r\n", got)
        # Sizes beyond the limits.
        got = self.raw(b"*1\r\n$67108865\r\n")
        c("a bulk length of 64 MiB + 1", got == b"-ERR Protocol error: invalid bulk length\r\n", got)
        got = self.raw(b"*1048577\r\n")
        c("a multibulk count over 2^20", got == b"-ERR Protocol error: invalid multibulk length\r\n", got)
        got = self.raw(b"*-9223372036854775809\r\n")
        c("a multibulk count below int64", got == b"-ERR Protocol error: invalid multibulk length\r\n", got)
        # Lines past the 64 KiB limit, then a half-close: the error, then the
        # close. (A client that goes on sending after the limit gets a reset
        # once the server closes with its bytes unread, which may overtake
        # the error text: Redis does the same; httpd lingers, kvstore not.)
        over = 64 * 1024 + 100
        got = self.raw(b"x" * over)
        c("an inline line over 64 KiB", got == b"-ERR Protocol error: too big inline request\r\n", got)
        got = self.raw(b"*1\r\n$" + b"1" * over)
        c("a bulk length line over 64 KiB", got == b"-ERR Protocol error: too big bulk count string\r\n", got)
        got = self.raw(b"*" + b"1" * over)
        c("a multibulk count line over 64 KiB", got == b"-ERR Protocol error: too big mbulk count string\r\n", got)
        # The same line sent without end, as fast as taken: the error or a
        # reset. (Once an intermittent: kvstore stopped reading at exactly
        # 64 KiB of it; kvstore-inline-line-of-read-size pins that.)
        try:
            got = send_until_closed(self.port, b"", b"x" * 4096, limit=8 << 20)
        except TimeoutError:
            got = b"(no answer, no close and no reset within 60 s)"
        c("an endless inline line: the error or a reset",
          got in (b"", b"-ERR Protocol error: too big inline request\r\n"), got)
        # An announced 64 MiB argument of which 1 MiB comes, then the close:
        # nothing is answered, the buffer is let go.
        got = self.raw(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$67108864\r\n" + b"b" * (1 << 20))
        c("64 MiB announced, 1 MiB sent, closed", got == b"", got)
        # A pipeline cut mid-command: the whole commands before the cut run
        # and are answered, the cut one does not run.
        Resp("127.0.0.1", self.port).call("DEL", "cut:a", "cut:b")
        whole = encode("SET", "cut:a", "1") + encode("INCR", "cut:a")
        for cut in (b"*3\r\n$3\r\nSET\r\n$5\r\ncut:b\r\n$5\r\nab", b"*3\r\n$3\r\nSET\r\n$5\r\ncut:b\r\n$",
                    b"*3\r\n$3\r\nSE", b"*3\r", b"SET cut:b inl"):
            got = self.raw(whole + cut)
            a, b = self.cli("GET", "cut:a"), self.cli("EXISTS", "cut:b")
            c(f"pipeline cut after {cut[-8:]!r}", got == b"+OK\r\n:2\r\n" and a == "2" and b == "0",
              got + f" cut:a={a} cut:b exists={b}".encode())
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.sendall(whole + b"*3\r\n$3\r\nSET\r\n$5\r\ncut:b\r\n$5\r\nab")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
        c("pipeline cut mid-argument, then a reset", self.cli("EXISTS", "cut:b") == "0", b"")
        return self.failures


def main():
    what, atoll, image = sys.argv[1:4]
    tools = ("curl", "nc") if what == "httpd" else ("redis-cli", "nc")
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        print("SKIP: needs " + ", ".join(missing))
        return 77
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        if what == "httpd":
            app = httpd_behind(atoll, image, port, guest_args=["--quiet", "--header-timeout", "300"])
        else:
            app = kvstore_behind(atoll, image, port, new_disk(os.path.join(tmp, "kv.img")))
        with app:
            failures = (HttpdCases(port) if what == "httpd" else KvCases(port)).run()
            if not app.alive():
                failures.append("the appliance died")
            return report(failures, app.output())


if __name__ == "__main__":
    sys.exit(main())
