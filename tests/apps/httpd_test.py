#!/usr/bin/env python3
"""End-to-end checks of apps/httpd with real clients: curl, raw sockets, and wrk
when it is installed.

  httpd_test.py --native PATH      make a document root, start PATH on a free port
                                   with --header-timeout 1, run every check, stop it
  httpd_test.py --make-docroot DIR write the test tree into DIR and exit
  httpd_test.py --url URL          run the checks against a server already serving a
                                   tree made by --make-docroot (the appliance);
                                   add --slow for the timeout checks

Exit status: 0 all checks passed, 1 some failed (each says why), 77 no curl.
run_checks(base_url, docroot_files) is the reusable part.
"""

import argparse
import email.utils
import hashlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

# --------------------------------------------------------------------------------
# The document root

FIXED_MTIME = 1_600_000_000  # Sun, 13 Sep 2020 12:26:40 GMT
SPECIAL_NAME = "with space & 100%.txt"


def docroot_files():
    """Relative path -> contents of the test tree. Deterministic, so a tree made
    earlier by --make-docroot matches what run_checks expects."""
    rng = random.Random(20261122)
    big = rng.randbytes(1 << 20)
    # Over httpd's cache limit (2 MiB): streamed from the file, not sent from memory.
    huge = rng.randbytes(3 << 20)
    return {
        "index.html": b"<!DOCTYPE html>\n<title>Atoll httpd</title>\n<h1>It works</h1>\n",
        "style.css": b"body { font-family: sans-serif; }\n",
        "app.js": b"console.log('atoll');\n",
        "data.json": b'{"name": "atoll", "ok": true}\n',
        "notes.txt": b"0123456789abcdefghijklmnopqrstuvwxyz\n",
        "logo.png": b"\x89PNG\r\n\x1a\n" + bytes(range(256)),
        "icon.svg": b'<svg xmlns="http://www.w3.org/2000/svg"/>\n',
        "mod.wasm": b"\x00asm\x01\x00\x00\x00",
        "blob.unknownext": b"opaque\n",
        "big.bin": big,
        "huge.bin": huge,
        "sub/index.html": b"<!DOCTYPE html>\n<p>sub index</p>\n",
        "sub/page.html": b"<p>page</p>\n",
        "nodir/a.txt": b"a\n",
        "nodir/b.txt": b"bb\n",
        "nodir/inner/deep.txt": b"deep\n",
        "nodir/" + SPECIAL_NAME: b"special name\n",
    }


def make_docroot(root):
    files = docroot_files()
    for rel, data in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    return files


# --------------------------------------------------------------------------------
# HTTP helpers


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (the last one wins)
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def __repr__(self):
        return "<%d %s %d bytes>" % (self.status, self.headers, len(self.body))


class CheckFailed(Exception):
    pass


def expect(cond, message):
    if not cond:
        raise CheckFailed(message)


def parse_head(head):
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if not m:
        raise CheckFailed("bad status line %r" % lines[0])
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return int(m.group(1)), headers


def curl(url, *args):
    """One request with curl; returns the (last) response."""
    cmd = ["curl", "-s", "-S", "-i", "--http1.1", "--max-time", "20", *args, url]
    p = subprocess.run(cmd, capture_output=True, timeout=30)
    if p.returncode != 0:
        raise CheckFailed("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.decode().strip()))
    out = p.stdout
    end = out.find(b"\r\n\r\n")
    if end < 0:
        raise CheckFailed("no response head from curl for %s: %r" % (url, out[:200]))
    status, headers = parse_head(out[:end])
    return Response(status, headers, out[end + 4:])


class Raw:
    """A raw TCP connection for what curl will not send: pipelines, malformed
    requests, slow senders."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise CheckFailed("connection closed by the server mid-response")
        self.buf += data

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        end = self.buf.index(b"\r\n\r\n")
        status, headers = parse_head(self.buf[:end])
        self.buf = self.buf[end + 4:]
        length = 0
        if not head_request and status not in (204, 304) and status >= 200:
            length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return Response(status, headers, body)

    def closed_by_peer(self, wait=3.0):
        """True if the server closes the connection within `wait` seconds."""
        self.sock.settimeout(wait)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True

    def close(self):
        self.sock.close()


def request(path, method="GET", version="1.1", extra=""):
    host = "Host: test\r\n" if version == "1.1" else ""
    return ("%s %s HTTP/%s\r\n%s%s\r\n" % (method, path, version, host, extra)).encode("latin-1")


# --------------------------------------------------------------------------------
# The checks

EXPECTED_TYPES = {
    "index.html": "text/html",
    "style.css": "text/css",
    "app.js": "text/javascript",
    "data.json": "application/json",
    "notes.txt": "text/plain",
    "logo.png": "image/png",
    "icon.svg": "image/svg+xml",
    "mod.wasm": "application/wasm",
    "blob.unknownext": "application/octet-stream",
    "big.bin": "application/octet-stream",
}


class Checks:
    def __init__(self, base_url, files, slow=False, header_timeout=10.0):
        u = urllib.parse.urlsplit(base_url)
        self.base = base_url.rstrip("/")
        self.host = u.hostname
        self.port = u.port or 80
        self.files = files
        self.slow = slow
        self.header_timeout = header_timeout

    def url(self, path):
        return self.base + path

    def raw(self):
        return Raw(self.host, self.port)

    def one_raw(self, data, head_request=False):
        c = self.raw()
        try:
            c.send(data)
            return c.response(head_request)
        finally:
            c.close()

    # -- content ------------------------------------------------------------------

    def check_get_index(self):
        r = curl(self.url("/"))
        expect(r.status == 200, "GET / gave %d" % r.status)
        expect(r.body == self.files["index.html"], "GET / body is not index.html")
        expect(r.header("content-length") == str(len(r.body)), "Content-Length %s" % r.header("content-length"))
        expect(email.utils.parsedate_to_datetime(r.header("date")) is not None, "no Date")
        expect(r.header("last-modified") is not None, "no Last-Modified")

    def check_content_types(self):
        for name, mime in EXPECTED_TYPES.items():
            r = curl(self.url("/" + name), "-I") if name == "big.bin" else curl(self.url("/" + name))
            ctype = r.header("content-type") or ""
            expect(r.status == 200, "/%s gave %d" % (name, r.status))
            expect(ctype.split(";")[0] == mime, "/%s has Content-Type %r, want %s" % (name, ctype, mime))
            expect(r.header("content-length") == str(len(self.files[name])), "/%s Content-Length" % name)
            if name != "big.bin":
                expect(r.body == self.files[name], "/%s body differs" % name)

    def check_head(self):
        r = curl(self.url("/style.css"), "-I")
        expect(r.status == 200, "HEAD gave %d" % r.status)
        expect(r.header("content-length") == str(len(self.files["style.css"])), "HEAD Content-Length")
        expect(r.body == b"", "HEAD sent a body")
        # On one connection: a body after HEAD would corrupt the next response.
        c = self.raw()
        c.send(request("/notes.txt", "HEAD"))
        h = c.response(head_request=True)
        c.send(request("/data.json"))
        g = c.response()
        c.close()
        expect(h.status == 200 and h.header("content-length") == str(len(self.files["notes.txt"])), "raw HEAD")
        expect(g.status == 200 and g.body == self.files["data.json"], "GET after HEAD: %r" % g)

    def check_large_file(self):
        for name in ("big.bin", "huge.bin"):
            p = subprocess.run(["curl", "-s", "-S", "--http1.1", "--max-time", "30", self.url("/" + name)],
                               capture_output=True, timeout=40)
            expect(p.returncode == 0, "curl %s failed: %s" % (name, p.stderr.decode()))
            want = hashlib.sha256(self.files[name]).hexdigest()
            got = hashlib.sha256(p.stdout).hexdigest()
            expect(got == want, "%s: %d bytes, sha256 %s, want %d bytes" % (name, len(p.stdout), got, len(self.files[name])))

    def check_encoded_name(self):
        path = "/nodir/" + urllib.parse.quote(SPECIAL_NAME)
        r = curl(self.url(path))
        expect(r.status == 200 and r.body == self.files["nodir/" + SPECIAL_NAME], "%s gave %d" % (path, r.status))

    # -- validators and ranges ----------------------------------------------------

    def check_conditional(self):
        r = curl(self.url("/notes.txt"))
        lm = r.header("last-modified")
        expect(lm is not None, "no Last-Modified")
        when = email.utils.parsedate_to_datetime(lm).timestamp()
        r = curl(self.url("/notes.txt"), "-H", "If-Modified-Since: " + lm)
        expect(r.status == 304, "If-Modified-Since = Last-Modified gave %d" % r.status)
        expect(r.body == b"", "304 with a body")
        earlier = email.utils.formatdate(when - 86400, usegmt=True)
        r = curl(self.url("/notes.txt"), "-H", "If-Modified-Since: " + earlier)
        expect(r.status == 200 and r.body == self.files["notes.txt"], "older If-Modified-Since gave %d" % r.status)
        r = curl(self.url("/notes.txt"), "-H", "If-Modified-Since: not a date")
        expect(r.status == 200, "garbage If-Modified-Since gave %d" % r.status)

    def check_ranges(self):
        big = self.files["big.bin"]
        size = len(big)
        cases = [("0-99", 0, 99), ("1048000-", 1048000, size - 1), ("-100", size - 100, size - 1),
                 ("1000-2000000", 1000, size - 1)]
        for spec, first, last in cases:
            r = curl(self.url("/big.bin"), "-H", "Range: bytes=" + spec)
            expect(r.status == 206, "Range %s gave %d" % (spec, r.status))
            want = "bytes %d-%d/%d" % (first, last, size)
            expect(r.header("content-range") == want, "Range %s: Content-Range %r, want %r" % (spec, r.header("content-range"), want))
            expect(r.body == big[first:last + 1], "Range %s: wrong bytes (%d)" % (spec, len(r.body)))
        r = curl(self.url("/notes.txt"), "-H", "Range: bytes=5-9")
        expect(r.status == 206 and r.body == self.files["notes.txt"][5:10], "small-file range")
        r = curl(self.url("/big.bin"), "-H", "Range: bytes=2000000-")
        expect(r.status == 416, "unsatisfiable range gave %d" % r.status)
        expect(r.header("content-range") == "bytes */%d" % size, "416 Content-Range %r" % r.header("content-range"))
        r = curl(self.url("/notes.txt"), "-H", "Range: bytes=0-1,4-5")
        expect(r.status in (200, 206), "multi-range gave %d" % r.status)
        if r.status == 200:
            expect(r.body == self.files["notes.txt"], "multi-range answered 200 with the wrong body")

    # -- directories and errors ---------------------------------------------------

    def check_directories(self):
        r = curl(self.url("/sub"))
        expect(r.status == 301, "/sub gave %d" % r.status)
        expect((r.header("location") or "").endswith("/sub/"), "/sub Location %r" % r.header("location"))
        r = curl(self.url("/sub/"))
        expect(r.status == 200 and r.body == self.files["sub/index.html"], "/sub/ is not sub/index.html")
        r = curl(self.url("/nodir"))
        expect(r.status == 301 and (r.header("location") or "").endswith("/nodir/"), "/nodir redirect")
        r = curl(self.url("/nodir/"))
        expect(r.status == 200, "/nodir/ gave %d" % r.status)
        expect((r.header("content-type") or "").startswith("text/html"), "listing Content-Type")
        html = r.body.decode("utf-8", "replace")
        for href in ('href="a.txt"', 'href="b.txt"', 'href="inner/"',
                     'href="%s"' % urllib.parse.quote(SPECIAL_NAME)):
            expect(href in html, "listing lacks %s:\n%s" % (href, html))
        expect("with space &amp; 100%.txt" in html, "listing does not HTML-escape names")
        r = curl(self.url("/sub/page.html"))
        expect(r.status == 200 and r.body == self.files["sub/page.html"], "/sub/page.html")

    def check_not_found(self):
        for path in ("/missing.html", "/notes.txt/extra", "/nodir/inner/nothing"):
            r = curl(self.url(path))
            expect(r.status == 404, "%s gave %d" % (path, r.status))

    def check_method_not_allowed(self):
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            r = curl(self.url("/index.html"), "-X", method)
            expect(r.status == 405, "%s gave %d" % (method, r.status))
            expect(r.header("allow") == "GET, HEAD", "%s: Allow %r" % (method, r.header("allow")))
        # A body sent with the refused request is skipped, not parsed as the next request.
        c = self.raw()
        c.send(request("/", "POST", extra="Content-Length: 5\r\n") + b"hello" + request("/notes.txt"))
        a, b = c.response(), c.response()
        c.close()
        expect(a.status == 405 and b.status == 200 and b.body == self.files["notes.txt"], "POST body then GET")

    def check_traversal(self):
        for path in ("/../../../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/sub/../../etc/passwd",
                     "/..%2f..%2fetc/passwd"):
            r = self.one_raw(request(path))
            expect(r.status in (400, 404), "%s gave %d" % (path, r.status))
            expect(b"root:" not in r.body, "%s leaked /etc/passwd" % path)
        r = curl(self.url("/../../etc/passwd"), "--path-as-is")
        expect(r.status in (400, 404), "curl --path-as-is traversal gave %d" % r.status)
        r = self.one_raw(request("/sub/../notes.txt"))
        expect(r.status == 200 and r.body == self.files["notes.txt"], "/sub/../notes.txt gave %d" % r.status)

    def check_limits(self):
        r = self.one_raw(request("/" + "a" * 9000))
        expect(r.status == 414, "9000-byte request line gave %d" % r.status)
        fields = "".join("X-Filler-%d: %s\r\n" % (i, "z" * 100) for i in range(200))
        r = self.one_raw(request("/", extra=fields))
        expect(r.status == 413, "20 KiB of fields gave %d" % r.status)

    def check_bad_requests(self):
        for data in (b"GARBAGE\r\n\r\n", b"GET /\r\n\r\n", b"GET / HTTP/x.y\r\nHost: t\r\n\r\n",
                     b"GET / HTTP/1.1\r\n\r\n", b"GET / FTP/1.0\r\n\r\n", b"GET / HTTP/1.1\r\nHost t\r\n\r\n"):
            c = self.raw()
            c.send(data)
            r = c.response()
            expect(r.status == 400, "%r gave %d" % (data, r.status))
            expect(c.closed_by_peer(), "%r: connection left open after 400" % data)
            c.close()

    # -- connections --------------------------------------------------------------

    def check_keep_alive(self):
        urls = [self.url("/notes.txt"), self.url("/style.css"), self.url("/sub/")]
        cmd = ["curl", "-s", "-S", "--http1.1", "-w", "%{http_code} %{num_connects}\n"]
        for u in urls:
            cmd += ["-o", "/dev/null", u]
        p = subprocess.run(cmd, capture_output=True, timeout=30)
        lines = p.stdout.decode().split()
        expect(p.returncode == 0 and lines == ["200", "1", "200", "0", "200", "0"],
               "curl with three URLs: %r (want one connect, then reuse)" % lines)
        c = self.raw()
        for name in ("notes.txt", "style.css", "data.json"):
            c.send(request("/" + name))
            r = c.response()
            expect(r.status == 200 and r.body == self.files[name], "keep-alive request for %s" % name)
        c.close()

    def check_connection_close(self):
        c = self.raw()
        c.send(request("/notes.txt", extra="Connection: close\r\n"))
        r = c.response()
        expect(r.status == 200 and (r.header("connection") or "").lower() == "close", "Connection: close reply")
        expect(c.closed_by_peer(), "still open after Connection: close")
        c.close()
        c = self.raw()
        c.send(request("/notes.txt", version="1.0"))
        r = c.response()
        expect(r.status == 200 and r.body == self.files["notes.txt"], "HTTP/1.0 GET")
        expect(c.closed_by_peer(), "HTTP/1.0 without keep-alive left open")
        c.close()
        c = self.raw()
        for _ in range(2):
            c.send(request("/notes.txt", version="1.0", extra="Connection: keep-alive\r\n"))
            r = c.response()
            expect(r.status == 200 and (r.header("connection") or "").lower() == "keep-alive", "1.0 keep-alive")
        c.close()

    def check_pipelining(self):
        c = self.raw()
        c.send(request("/notes.txt") + request("/style.css", "HEAD") + request("/missing") + request("/data.json"))
        got = [c.response(), c.response(head_request=True), c.response(), c.response()]
        c.close()
        expect([r.status for r in got] == [200, 200, 404, 200], "pipelined statuses %r" % [r.status for r in got])
        expect(got[0].body == self.files["notes.txt"] and got[3].body == self.files["data.json"], "pipelined bodies")
        expect(got[1].header("content-length") == str(len(self.files["style.css"])), "pipelined HEAD")

    def check_split_request(self):
        c = self.raw()
        for part in (b"GET /notes.t", b"xt HTTP/1.1\r\nHo", b"st: test\r\n", b"\r\n"):
            c.send(part)
            time.sleep(0.1)
        r = c.response()
        c.close()
        expect(r.status == 200 and r.body == self.files["notes.txt"], "request split over four sends: %r" % r)

    def check_slowloris(self):
        c = self.raw()
        c.send(b"GET /notes.txt HTTP/1.1\r\nHost: test\r\n")
        c.sock.settimeout(0.25)
        start = time.monotonic()
        got, closed = b"", False
        while time.monotonic() - start < self.header_timeout + 5 and not got:
            try:
                c.send(b"X-Slow: 1\r\n")
                data = c.sock.recv(4096)
                if not data:
                    closed = True
                    break
                got += data
            except socket.timeout:
                pass
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
        elapsed = time.monotonic() - start
        if got:
            closed = c.closed_by_peer(5)
        c.close()
        expect(got.startswith(b"HTTP/1.1 408") or (closed and not got), "slow sender got %r" % got[:40])
        expect(closed, "slow sender's connection not closed")
        expect(elapsed <= self.header_timeout + 3, "slow sender cut off after %.1f s" % elapsed)
        # A connection that never sends a byte is closed too.
        c = self.raw()
        expect(c.closed_by_peer(self.header_timeout + 3), "silent connection left open")
        c.close()
        r = curl(self.url("/notes.txt"))
        expect(r.status == 200, "server not answering after the slow clients")

    def check_backpressure(self):
        # A client that does not read must not hold up others, and must get every
        # byte once it starts reading. 24 pipelined copies of the 1 MiB file are
        # more than the socket buffers on both sides hold, so the server has to
        # wait for POLLOUT in the middle of a file.
        copies = 24
        stalled = self.raw()
        stalled.send(request("/big.bin") * copies)
        time.sleep(0.3)
        start = time.monotonic()
        for _ in range(5):
            r = curl(self.url("/notes.txt"))
            expect(r.status == 200, "request beside a stalled download gave %d" % r.status)
        expect(time.monotonic() - start < 5, "requests beside a stalled download were slow")
        for i in range(copies):
            r = stalled.response()
            expect(r.status == 200 and r.body == self.files["big.bin"], "stalled download %d incomplete or corrupt" % i)
        stalled.close()

    def check_wrk(self):
        if not shutil.which("wrk"):
            print("SKIP wrk: not installed")
            return
        p = subprocess.run(["wrk", "-t2", "-c50", "-d3s", self.url("/notes.txt")],
                           capture_output=True, timeout=60)
        out = p.stdout.decode()
        expect(p.returncode == 0, "wrk failed: %s" % p.stderr.decode())
        m = re.search(r"(\d+) requests in", out)
        expect(m and int(m.group(1)) > 0, "wrk made no requests:\n" + out)
        errors = re.search(r"Socket errors: (.*)", out)
        expect(not errors or all(int(n) == 0 for n in re.findall(r"\d+", errors.group(1))),
               "wrk socket errors:\n" + out)
        expect("Non-2xx" not in out, "wrk saw non-2xx responses:\n" + out)
        print("     wrk: %s requests, %s" % (m.group(1), re.search(r"Requests/sec:\s*(\S+)", out).group(0)))

    def check_still_alive(self):
        r = curl(self.url("/"))
        expect(r.status == 200, "server gone at the end")

    def all(self):
        names = [n for n in dir(self) if n.startswith("check_")]
        order = ["get_index", "content_types", "head", "large_file", "encoded_name", "conditional", "ranges",
                 "directories", "not_found", "method_not_allowed", "traversal", "limits", "bad_requests",
                 "keep_alive", "connection_close", "pipelining", "split_request", "backpressure", "slowloris", "wrk",
                 "still_alive"]
        assert sorted(names) == sorted("check_" + n for n in order)
        return [n for n in order if self.slow or n != "slowloris"]


def run_checks(base_url, files, slow=False, header_timeout=10.0):
    """Runs every check against base_url (a server whose root holds `files`);
    returns the list of failure messages, printing one line per check."""
    checks = Checks(base_url, files, slow, header_timeout)
    failures = []
    for name in checks.all():
        start = time.monotonic()
        try:
            getattr(checks, "check_" + name)()
            print("PASS %s (%.1f s)" % (name, time.monotonic() - start))
        except (CheckFailed, OSError, subprocess.SubprocessError, ValueError) as e:
            msg = "%s: %s" % (name, e)
            print("FAIL " + msg)
            failures.append(msg)
        sys.stdout.flush()
    return failures


# --------------------------------------------------------------------------------
# Native mode: our own server process


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NativeServer:
    def __init__(self, binary, root, extra_args=(), quiet=False):
        self.log_path = tempfile.mktemp(prefix="httpd-log-")
        for _ in range(5):
            self.port = free_port()
            args = [binary, "--addr", "127.0.0.1", "--port", str(self.port), "--root", root, *extra_args]
            if quiet:
                args.append("--quiet")
            self.log = open(self.log_path, "w+b")
            self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.PIPE)
            if self._wait_ready():
                return
            err = self.proc.stderr.read().decode()
            if "cannot bind" not in err:
                raise RuntimeError("httpd did not start: %s" % err)
        raise RuntimeError("httpd could not bind a free port")

    def _wait_ready(self):
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            with open(self.log_path, "rb") as f:
                if b"\n" in f.read():
                    return True
            time.sleep(0.05)
        raise RuntimeError("httpd printed no startup line")

    def first_line(self):
        with open(self.log_path, "rb") as f:
            return f.readline().decode().rstrip("\n")

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        running = self.proc.poll() is None
        if running:
            self.proc.terminate()
            self.proc.wait(10)
        self.log.close()
        os.unlink(self.log_path)
        return running


def native_checks(binary, root, server):
    """What only a server we started can show: its startup line, log, limits, and
    errors at startup."""
    failures = []

    def check(name, fn):
        try:
            fn()
            print("PASS %s" % name)
        except (CheckFailed, OSError, subprocess.SubprocessError, RuntimeError) as e:
            print("FAIL %s: %s" % (name, e))
            failures.append("%s: %s" % (name, e))

    def startup_line():
        want = "httpd: serving %s on 127.0.0.1:%d" % (root, server.port)
        expect(server.first_line() == want, "startup line %r, want %r" % (server.first_line(), want))

    def access_log():
        curl("http://127.0.0.1:%d/notes.txt?log-marker" % server.port)
        time.sleep(0.2)
        lines = [l for l in server.log_text().splitlines() if "log-marker" in l]
        expect(lines, "no access log line for the request")
        expect(re.match(r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] '
                        r'"GET /notes.txt\?log-marker HTTP/1\.1" 200 %d \d+us$' % len(docroot_files()["notes.txt"]),
                        lines[0]), "access log line %r" % lines[0])

    def bind_failure():
        p = subprocess.run([binary, "--addr", "127.0.0.1", "--port", str(server.port), "--root", root],
                           capture_output=True, timeout=10)
        expect(p.returncode != 0 and b"cannot bind" in p.stderr, "second server on a busy port: %d %r"
               % (p.returncode, p.stderr))
        p = subprocess.run([binary, "--port", "nope"], capture_output=True, timeout=10)
        expect(p.returncode != 0 and b"bad value" in p.stderr, "bad --port: %d %r" % (p.returncode, p.stderr))
        p = subprocess.run([binary, "--root", "/nonexistent/dir", "--port", "1"], capture_output=True, timeout=10)
        expect(p.returncode != 0 and b"not a directory" in p.stderr, "bad --root: %r" % p.stderr)

    def max_conns():
        limited = NativeServer(binary, root, ["--max-conns", "2"], quiet=True)
        try:
            held = [Raw("127.0.0.1", limited.port) for _ in range(2)]
            for c in held:  # make sure both are accepted before the third arrives
                c.send(request("/notes.txt"))
                expect(c.response().status == 200, "held connection")
            extra = Raw("127.0.0.1", limited.port)
            expect(extra.closed_by_peer(3), "third connection over --max-conns 2 not closed")
            extra.close()
            held[0].close()
            time.sleep(0.2)
            c = Raw("127.0.0.1", limited.port)
            c.send(request("/notes.txt"))
            expect(c.response().status == 200, "no new connection after one closed")
            c.close()
            held[1].close()
        finally:
            limited.stop()

    check("startup_line", startup_line)
    check("access_log", access_log)
    check("bind_failure", bind_failure)
    check("max_conns", max_conns)
    return failures


def run_native(binary):
    root = tempfile.mkdtemp(prefix="httpd-root-")
    try:
        files = make_docroot(root)
        server = NativeServer(binary, root, ["--header-timeout", "1", "--idle-timeout", "5"])
        try:
            failures = run_checks("http://127.0.0.1:%d" % server.port, files, slow=True, header_timeout=1.0)
            failures += native_checks(binary, root, server)
        finally:
            if not server.stop():
                failures.append("httpd exited during the checks")
                print("FAIL httpd exited during the checks")
        return failures
    finally:
        shutil.rmtree(root)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = ap.add_mutually_exclusive_group(required=True)
    mode.add_argument("--native", metavar="HTTPD", help="start this httpd-native binary and check it")
    mode.add_argument("--url", help="check a running server, e.g. http://127.0.0.1:8080")
    mode.add_argument("--make-docroot", metavar="DIR", help="write the test tree into DIR and exit")
    ap.add_argument("--slow", action="store_true", help="with --url: run the timeout checks too")
    ap.add_argument("--header-timeout", type=float, default=10.0,
                    help="with --url --slow: the server's header timeout in seconds (default 10)")
    args = ap.parse_args()

    if args.make_docroot:
        make_docroot(args.make_docroot)
        return 0
    if not shutil.which("curl"):
        print("SKIP: curl is not installed")
        return 77
    if args.native:
        failures = run_native(os.path.abspath(args.native))
    else:
        failures = run_checks(args.url, docroot_files(), args.slow, args.header_timeout)
    if failures:
        print("\n%d check(s) failed:" % len(failures))
        for f in failures:
            print("  " + f)
        return 1
    print("\nall checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
