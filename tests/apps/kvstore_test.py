#!/usr/bin/env python3
"""kvstore against real Redis clients: redis-cli and redis-benchmark (Debian's
redis-tools). Exits 77 (skip) when redis-cli is not installed.

  kvstore_test.py --native PATH
      starts kvstore-native on a free port with a temporary log file and runs
      the protocol checks, redis-benchmark, and the persistence checks (SIGKILL
      and restart, a torn and a garbage tail, compaction).
  kvstore_test.py --host H --port P
      runs the protocol checks and redis-benchmark against a running server
      (an appliance, say). They FLUSHALL it first.
  kvstore_test.py --damage-log FILE truncate|garbage
      damages the tail of a (stopped) server's log and prints the recovery
      line the next start must report.

run_checks(host, port) is the protocol check suite, for reuse.
"""
import argparse
import os
import queue
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time


class Err(str):
    """An error reply (its text, without the '-')."""


# ---------------------------------------------------------------- RESP client

class Resp:
    """A raw RESP2 connection that keeps the exact bytes of every reply."""

    def __init__(self, host, port, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def reply(self):
        """One reply as (value, raw bytes)."""
        raw = []
        value = self._reply(raw)
        return value, b"".join(raw)

    def _reply(self, raw):
        line = self._line()
        raw.append(line + b"\r\n")
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return Err(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n + 2)
            raw.append(data)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply(raw) for _ in range(n)]
        raise ValueError("bad reply line %r" % line)

    def call(self, *args):
        self.send(encode(*args))
        return self.reply()[0]

    def raw_call(self, *args):
        self.send(encode(*args))
        return self.reply()[1]

    def closed_by_peer(self):
        try:
            while True:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return True
                self.buf += chunk
        except (ConnectionResetError, socket.timeout):
            return False


def encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


# ---------------------------------------------------------------- redis-cli

def cli_repr(data):
    """redis-cli's quoting of a bulk string (sdscatrepr)."""
    out = ['"']
    for b in data:
        c = chr(b)
        if c in '\\"':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == "\a":
            out.append("\\a")
        elif c == "\b":
            out.append("\\b")
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\x%02x" % b)
    return "".join(out) + '"'


def cli_render(value):
    """How `redis-cli --no-raw` prints a reply (flat arrays only)."""
    if isinstance(value, Err):
        return "(error) " + value
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return "(integer) %d" % value
    if value is None:
        return "(nil)"
    if isinstance(value, bytes):
        return cli_repr(value)
    if not value:
        return "(empty array)"
    width = len(str(len(value)))
    return "\n".join("%*d) %s" % (width, i + 1, cli_render(v)) for i, v in enumerate(value))


class Checker:
    def __init__(self, host, port):
        self.host, self.port = host, port
        self.failures = 0
        self.count = 0

    def ok(self, cond, what):
        self.count += 1
        if not cond:
            self.failures += 1
            print("FAIL: %s" % what)
        return cond

    def cli(self, *args):
        r = subprocess.run(["redis-cli", "--no-raw", "-h", self.host, "-p", str(self.port)] + [str(a) for a in args],
                           capture_output=True, timeout=30)
        return r.stdout.decode(errors="replace").rstrip("\n")

    def expect(self, args, value):
        """Runs `args` through redis-cli and compares its output exactly."""
        got = self.cli(*args)
        want = cli_render(value)
        return self.ok(got == want, "redis-cli %s: got %r, want %r" % (" ".join(map(str, args)), got, want))

    def expect_ttl(self, args, seconds):
        """A TTL just set: `seconds`, or one less when the machine is slow
        enough that a second passed between the two redis-cli runs."""
        got = self.cli(*args)
        ok = got in (cli_render(seconds), cli_render(seconds - 1))
        return self.ok(ok, "redis-cli %s: got %r, want %r (or one less)" % (" ".join(map(str, args)), got, seconds))

    def expect_raw(self, conn, args, raw):
        got = conn.raw_call(*args)
        return self.ok(got == raw, "%s: got %r, want %r" % (" ".join(map(str, args)), got, raw))


# ---------------------------------------------------------------- protocol checks

def check_strings(c):
    e = c.expect
    e(["FLUSHALL"], "OK")
    e(["PING"], "PONG")
    e(["PING", "hello world"], b"hello world")
    e(["ECHO", 'quote " and\nnewline'], b'quote " and\nnewline')
    e(["SET", "k", "v"], "OK")
    e(["GET", "k"], b"v")
    e(["GET", "missing"], None)
    e(["SET", "k", "w", "NX"], None)
    e(["SET", "k", "w", "XX"], "OK")
    e(["SET", "nokey", "w", "XX"], None)
    e(["SET", "k", "x", "GET"], b"w")
    e(["SET", "k", "y", "NX", "GET"], b"x")
    e(["SETNX", "k", "z"], 0)
    e(["SETNX", "nx2", "z"], 1)
    e(["GETSET", "nx2", "q"], b"z")
    e(["GETDEL", "nx2"], b"q")
    e(["APPEND", "ap", "ab"], 2)
    e(["APPEND", "ap", "cd"], 4)
    e(["STRLEN", "ap"], 4)
    e(["TYPE", "ap"], "string")
    e(["TYPE", "missing"], "none")
    e(["INCR", "n"], 1)
    e(["INCRBY", "n", "41"], 42)
    e(["DECR", "n"], 41)
    e(["DECRBY", "n", "-9"], 50)
    e(["INCRBY", "n", "x"], Err("ERR value is not an integer or out of range"))
    e(["INCR", "k"], Err("ERR value is not an integer or out of range"))
    e(["SET", "big", "9223372036854775807"], "OK")
    e(["INCR", "big"], Err("ERR increment or decrement would overflow"))
    e(["MSET", "a", "1", "b", "2"], "OK")
    e(["MGET", "a", "b", "missing"], [b"1", b"2", None])
    e(["MSET", "a", "1", "b"], Err("ERR wrong number of arguments for 'mset' command"))


def check_expiry(c):
    e = c.expect
    e(["SET", "ex", "v", "EX", "100"], "OK")
    c.expect_ttl(["TTL", "ex"], 100)
    e(["SET", "px", "v", "PX", "100000"], "OK")
    c.expect_ttl(["TTL", "px"], 100)
    e(["SET", "exat", "v", "EXAT", str(int(time.time()) + 200)], "OK")
    e(["SET", "pxat", "v", "PXAT", str(int(time.time() * 1000) + 300500)], "OK")
    e(["TTL", "missing"], -2)
    e(["TTL", "k"], -1)
    e(["PTTL", "k"], -1)
    e(["SET", "ex", "v2", "KEEPTTL"], "OK")
    c.expect_ttl(["TTL", "ex"], 100)
    e(["SET", "ex", "v3"], "OK")
    e(["TTL", "ex"], -1)
    e(["EXPIRE", "ex", "50"], 1)
    c.expect_ttl(["TTL", "ex"], 50)
    e(["EXPIRE", "ex", "60", "NX"], 0)
    e(["EXPIRE", "ex", "60", "GT"], 1)
    e(["EXPIRE", "ex", "70", "LT"], 0)
    e(["EXPIRE", "missing", "10"], 0)
    e(["PEXPIRE", "ex", "9000"], 1)
    c.expect_ttl(["TTL", "ex"], 9)
    e(["PERSIST", "ex"], 1)
    e(["PERSIST", "ex"], 0)
    e(["TTL", "ex"], -1)
    e(["SET", "e", "v", "EX", "0"], Err("ERR invalid expire time in 'set' command"))
    e(["SET", "e", "v", "EX", "abc"], Err("ERR value is not an integer or out of range"))
    e(["SET", "e", "v", "EX", "10", "PX", "10"], Err("ERR syntax error"))
    e(["SET", "e", "v", "NX", "XX"], Err("ERR syntax error"))
    e(["SET", "e", "v", "EX"], Err("ERR syntax error"))
    e(["EXPIRE", "k", "10", "NX", "XX"], Err("ERR NX and XX, GT or LT options at the same time are not compatible"))
    conn = Resp(c.host, c.port)  # a raw connection: spawning redis-cli may take longer than the TTL
    c.ok(conn.call("SET", "short", "v", "PX", "1000") == "OK" and conn.call("EXISTS", "short") == 1, "PX 1000 key")
    conn.close()
    time.sleep(1.3)
    e(["GET", "short"], None)
    e(["EXISTS", "short"], 0)
    e(["EXPIRE", "k", "-1"], 1)
    e(["EXISTS", "k"], 0)


def check_keys_and_server(c):
    e = c.expect
    e(["FLUSHALL"], "OK")
    e(["MSET", "user:1", "a", "user:2", "b", "user:10", "c", "other", "d", "h*llo", "e"], "OK")
    e(["KEYS", "user:1?"], [b"user:10"])
    e(["KEYS", "u[^s]*"], [])
    e(["KEYS", "ot?er"], [b"other"])
    e(["KEYS", "h\\*llo"], [b"h*llo"])
    e(["KEYS", "[o-p]*"], [b"other"])
    e(["KEYS", "nomatch*"], [])
    conn = Resp(c.host, c.port)
    got = sorted(conn.call("KEYS", "user:*"))
    c.ok(got == [b"user:1", b"user:10", b"user:2"], "KEYS user:* -> %r" % got)
    conn.close()
    e(["DBSIZE"], 5)
    e(["EXISTS", "user:1", "user:1", "nope"], 2)
    e(["DEL", "user:1", "nope", "user:2"], 2)
    e(["DBSIZE"], 3)
    e(["FLUSHDB"], "OK")
    e(["DBSIZE"], 0)
    e(["SELECT", "0"], "OK")
    e(["SELECT", "1"], Err("ERR DB index is out of range"))
    e(["COMMAND"], [])
    e(["CONFIG", "GET", "save"], [b"save", b""])
    e(["CONFIG", "GET", "appendonly"], [b"appendonly", b"yes"])
    e(["CLIENT", "SETNAME", "checker"], "OK")
    e(["FOO"], Err("ERR unknown command 'FOO', with args beginning with: "))
    e(["foo", "a", "b"], Err("ERR unknown command 'foo', with args beginning with: 'a' 'b' "))
    e(["GET"], Err("ERR wrong number of arguments for 'get' command"))
    e(["SET", "x"], Err("ERR wrong number of arguments for 'set' command"))
    e(["EXPIRE", "x"], Err("ERR wrong number of arguments for 'expire' command"))
    e(["CONFIG", "GET"], Err("ERR wrong number of arguments for 'config|get' command"))
    e(["QUIT"], "OK")


def check_info(c):
    conn = Resp(c.host, c.port)
    conn.call("FLUSHALL")
    conn.call("MSET", "i1", "1", "i2", "2")
    conn.call("SET", "i3", "3", "EX", "100")
    info = conn.call("INFO").decode()
    fields = dict(line.split(":", 1) for line in info.split("\r\n") if ":" in line)
    for name in ["atoll_kvstore_version", "uptime_in_seconds", "connected_clients", "used_memory",
                 "aof_enabled", "total_commands_processed", "db0"]:
        c.ok(name in fields, "INFO has %s" % name)
    c.ok(info.startswith("# Server\r\n"), "INFO starts with # Server")
    c.ok(fields.get("db0") == "keys=3,expires=1,avg_ttl=0", "INFO db0: %r" % fields.get("db0"))
    c.ok(int(fields.get("connected_clients", 0)) >= 1, "INFO connected_clients")
    section = conn.call("INFO", "keyspace")
    c.ok(section == b"# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n", "INFO keyspace: %r" % section)
    before = int(fields["total_commands_processed"])
    conn.call("PING")
    info = conn.call("INFO", "stats").decode()
    after = int(info.split("total_commands_processed:")[1].split("\r\n")[0])
    # INFO, INFO keyspace and PING ran since; INFO counts itself after it replies, as in Redis.
    c.ok(after == before + 3, "total_commands_processed counts commands (%d -> %d)" % (before, after))
    cli_info = c.cli("INFO", "server")
    c.ok("atoll_kvstore_version:" in cli_info, "redis-cli INFO server")
    conn.close()


def check_raw_replies(c):
    conn = Resp(c.host, c.port)
    r = c.expect_raw
    r(conn, ["FLUSHALL"], b"+OK\r\n")
    r(conn, ["GET", "nothing"], b"$-1\r\n")
    r(conn, ["KEYS", "nothing*"], b"*0\r\n")
    r(conn, ["SET", "bin", b"a\x00b\r\nc"], b"+OK\r\n")
    r(conn, ["GET", "bin"], b"$6\r\na\x00b\r\nc\r\n")
    r(conn, ["INCRBY", "n", "-5"], b":-5\r\n")
    r(conn, ["nosuch", "x" * 200], b"-ERR unknown command 'nosuch', with args beginning with: '" + b"x" * 128 + b"' \r\n")
    r(conn, ["GET", "a", "b"], b"-ERR wrong number of arguments for 'get' command\r\n")
    r(conn, ["MGET", "bin", "none"], b"*2\r\n$6\r\na\x00b\r\nc\r\n$-1\r\n")
    r(conn, ["SET", "e", "v", "PX", "50000"], b"+OK\r\n")
    pttl = conn.call("PTTL", "e")
    c.ok(49000 < pttl <= 50000, "PTTL after PX 50000: %r" % pttl)
    big = os.urandom(1 << 20)
    r(conn, ["SET", "big", big], b"+OK\r\n")
    c.ok(conn.call("GET", "big") == big, "a 1 MiB value round-trips")
    conn.close()


def check_pipelining(c):
    conn = Resp(c.host, c.port)
    conn.call("DEL", "pipe:n")
    batch = b"".join(encode("INCR", "pipe:n") + encode("SET", "pipe:%d" % i, i) + encode("GET", "pipe:%d" % i)
                     for i in range(1000))
    conn.send(batch)  # 3000 commands in one send
    good = 0
    for i in range(1000):
        good += (conn.reply()[0] == i + 1) + (conn.reply()[0] == "OK") + (conn.reply()[0] == str(i).encode())
    c.ok(good == 3000, "3000 pipelined commands in one send: %d right" % good)

    # Replies far bigger than the socket buffers: the server must wait for POLLOUT.
    conn.call("SET", "fat", b"f" * 100000)
    conn.send(encode("GET", "fat") * 200)
    fat = sum(conn.reply()[0] == b"f" * 100000 for _ in range(200))
    c.ok(fat == 200, "200 pipelined 100 KB replies: %d right" % fat)

    conn.send(b'SET inline "a b"\r\nGET inline\r\nPING\n')
    got = [conn.reply()[1] for _ in range(3)]
    c.ok(got == [b"+OK\r\n", b"$3\r\na b\r\n", b"+PONG\r\n"], "inline commands: %r" % got)
    conn.close()

    data = "".join("SET cli:%d %d\r\n" % (i, i) for i in range(5000)).encode()
    p = subprocess.run(["redis-cli", "-h", c.host, "-p", str(c.port), "--pipe"], input=data, capture_output=True,
                       timeout=60)
    out = p.stdout.decode()
    c.ok(p.returncode == 0 and "errors: 0, replies: 5000" in out, "redis-cli --pipe: %r" % out[-80:])

    clients = [Resp(c.host, c.port) for _ in range(20)]  # interleaved connections
    for i, cl in enumerate(clients):
        cl.send(encode("INCRBY", "shared", i))
    total = sum(1 for cl in clients if isinstance(cl.reply()[0], int))
    c.ok(total == 20 and clients[0].call("GET", "shared") == b"190", "20 connections interleaved")
    for cl in clients:
        cl.close()


def check_protocol_errors(c):
    cases = [
        (b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
        (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
        (b"PING\r\n*1\r\nfoo\r\n", b"+PONG\r\n-ERR Protocol error: expected '$', got 'f'\r\n"),
        (b'SET a "unbalanced\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
        (b"*1\r\n$999999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    ]
    for sent, want in cases:
        conn = Resp(c.host, c.port)
        conn.send(sent)
        closed = conn.closed_by_peer()
        c.ok(conn.buf == want and closed, "protocol error for %r: %r, closed=%s" % (sent, conn.buf, closed))
        conn.close()
    conn = Resp(c.host, c.port)
    conn.send(b"QUIT\r\n")
    c.ok(conn.closed_by_peer() and conn.buf == b"+OK\r\n", "QUIT replies +OK and closes")
    conn.close()


def check_big_reply_then_half_close(c):
    """Regression: a reply over the 1 MiB output high-water mark marked the
    connection paused even with no input left, so after a half-close it was
    never closed, and the loop spun with a zero poll timeout."""
    conn = Resp(c.host, c.port)
    big = b"h" * (2 << 20)
    conn.call("SET", "halfclose", big)
    conn.send(encode("GET", "halfclose"))
    conn.sock.shutdown(socket.SHUT_WR)
    closed = conn.closed_by_peer()
    c.ok(closed and conn.buf == b"$%d\r\n" % len(big) + big + b"\r\n", "big reply, then EOF after a half-close")
    conn.close()


def run_checks(host, port):
    """The protocol checks; returns the number of failures."""
    c = Checker(host, port)
    for group in [check_strings, check_expiry, check_keys_and_server, check_info, check_raw_replies,
                  check_pipelining, check_protocol_errors, check_big_reply_then_half_close]:
        try:
            group(c)
        except Exception as e:  # a dropped connection, a timeout: the group fails, the rest still run
            c.ok(False, "%s raised %r" % (group.__name__, e))
    print("protocol checks: %d of %d passed" % (c.count - c.failures, c.count))
    return c.failures


def run_benchmark(host, port):
    cmd = ["redis-benchmark", "-h", host, "-p", str(port), "-q", "-t", "get,set,incr,mset", "-P", "16", "-n", "20000"]
    p = subprocess.run(cmd, capture_output=True, timeout=150)
    lines = [l.strip() for l in p.stdout.decode(errors="replace").replace("\r", "\n").split("\n")]
    results = [l for l in lines if "requests per second" in l]
    for l in results:
        print("redis-benchmark: " + l)
    bad = p.returncode != 0 or len(results) != 4 or b"ERR" in p.stdout + p.stderr or b"rror" in p.stdout + p.stderr
    if bad:
        print("FAIL: redis-benchmark (status %d): %s %s" % (p.returncode, p.stdout[-300:], p.stderr[-300:]))
    return 1 if bad else 0


# ---------------------------------------------------------------- the log format

def _crc32c_table():
    table = []
    for b in range(256):
        c = b
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = (c >> 8) ^ CRC_TABLE[(c ^ b) & 0xFF]
    return c ^ 0xFFFFFFFF


def read_log(path):
    """The active region's records as [(device offset, size)] and the region's end (apps/kvstore/log_format.h)."""
    with open(path, "rb") as f:
        img = f.read()
    best = None
    for slot in (0, 4096):
        b = img[slot:slot + 60]
        if b[:8] != b"ATKVLOG1" or struct.unpack_from("<I", b, 56)[0] != crc32c(b[:56]):
            continue
        _, active, seq, gen, epoch, off0, off1, size = struct.unpack_from("<IIQIIQQQ", b, 8)
        if best is None or seq > best[0]:
            best = (seq, gen, (off0, off1)[active], size)
    if best is None:
        raise ValueError("%s: no valid superblock" % path)
    _, gen, pos, size = best
    end, records = pos + size, []
    while pos + 24 <= end:
        magic, length, rgen, _, pcrc, hcrc = struct.unpack_from("<6I", img, pos)
        if magic != 0x3152564B or hcrc != crc32c(img[pos:pos + 20]) or rgen != gen or pos + 24 + length > end:
            break
        if crc32c(img[pos + 24:pos + 24 + length]) != pcrc:
            break
        records.append((pos, 24 + length))
        pos += 24 + length
    return records, end


def damage_log(path, mode):
    """Damages the log's tail; returns the recovery line kvstore must print."""
    records, _ = read_log(path)
    last_off, last_size = records[-1]
    with open(path, "r+b") as f:
        if mode == "truncate":  # the last record's write stopped half-way
            cut = last_off + last_size // 2
            f.seek(cut)
            f.write(b"\0" * (last_off + last_size - cut))
            dropped, at = last_size, last_off
        elif mode == "garbage":
            at = last_off + last_size
            f.seek(at)
            f.write(bytes(random.randint(1, 255) for _ in range(100)))
            dropped = 100
        else:
            raise ValueError(mode)
    return "kvstore: log recovery: dropped %d bytes of a torn tail at offset %d" % (dropped, at)


# ---------------------------------------------------------------- the native server

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NativeServer:
    def __init__(self, exe, log_file, *extra):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [exe, "--addr", "127.0.0.1", "--port", str(self.port), "--aof-file", log_file, "--aof-size", "16M"]
            + list(extra), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.startup = []
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            if not line.startswith("kvstore: maxmemory "):  # the memory line comes at every start
                self.startup.append(line)
            if line.startswith("kvstore: listening on"):
                return
        raise RuntimeError("kvstore did not start: %r" % self.startup)

    def _pump(self):
        for raw in self.proc.stdout:
            self.lines.put(raw.decode(errors="replace").rstrip("\n"))

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def check_persistence(exe, tmp):
    c = Checker("127.0.0.1", 0)
    log = os.path.join(tmp, "kv.log")
    n = 1000

    def all_keys_present(conn, what):
        got = conn.call("MGET", *["p:%d" % i for i in range(n)])
        c.ok(got == [b"value-%d" % i for i in range(n)], "%s: all %d keys present" % (what, n))

    srv = NativeServer(exe, log, "--appendfsync", "always")
    c.ok(srv.startup[-1].endswith("aof=on, appendfsync=always"), "startup line: %r" % srv.startup[-1])
    conn = Resp("127.0.0.1", srv.port)
    conn.send(b"".join(encode("SET", "p:%d" % i, "value-%d" % i) for i in range(n)))
    acked = sum(conn.reply()[0] == "OK" for _ in range(n))
    c.ok(acked == n, "%d SETs acknowledged" % acked)
    srv.kill()

    srv = NativeServer(exe, log, "--appendfsync", "always")
    c.ok(len(srv.startup) == 1, "a clean restart reports nothing: %r" % srv.startup)
    conn = Resp("127.0.0.1", srv.port)
    all_keys_present(conn, "after SIGKILL")
    c.ok(conn.call("DBSIZE") == n, "DBSIZE after SIGKILL")
    conn.call("SET", "sentinel", "last")
    srv.kill()

    want = damage_log(log, "truncate")
    srv = NativeServer(exe, log)
    c.ok(want in srv.startup, "torn tail reported: %r (want %r)" % (srv.startup, want))
    conn = Resp("127.0.0.1", srv.port)
    all_keys_present(conn, "after a torn tail")
    c.ok(conn.call("GET", "sentinel") is None, "the torn record is gone")
    conn.call("SET", "sentinel2", "kept")
    conn.call("GET", "p:1")  # read-only: no record
    srv.kill()

    srv = NativeServer(exe, log, "--appendfsync", "always")
    c.ok(len(srv.startup) == 1, "the tail was cut once: %r" % srv.startup)
    srv.kill()
    want = damage_log(log, "garbage")
    srv = NativeServer(exe, log)
    c.ok(want in srv.startup, "garbage tail reported: %r (want %r)" % (srv.startup, want))
    conn = Resp("127.0.0.1", srv.port)
    all_keys_present(conn, "after a garbage tail")
    c.ok(conn.call("GET", "sentinel2") == b"kept", "the last record before the garbage is kept")
    srv.kill()

    # Compaction: overwrite everything many times with a low threshold.
    srv = NativeServer(exe, log, "--appendfsync", "no", "--compact-min", "256K")
    conn = Resp("127.0.0.1", srv.port)
    for rnd in range(15):
        conn.send(b"".join(encode("SET", "p:%d" % i, "r%d-%d" % (rnd, i) + "x" * 100) for i in range(n)))
        for _ in range(n):
            conn.reply()
    info = conn.call("INFO", "persistence").decode()
    rewrites = int(info.split("aof_rewrites:")[1].split("\r\n")[0])
    size = int(info.split("aof_current_size:")[1].split("\r\n")[0])
    c.ok(rewrites >= 1 and size < 1500000, "compaction ran (%d times, log %d bytes)" % (rewrites, size))
    srv.kill()
    srv = NativeServer(exe, log)
    conn = Resp("127.0.0.1", srv.port)
    got = conn.call("MGET", *["p:%d" % i for i in range(n)])
    c.ok(got == [b"r14-%d" % i + b"x" * 100 for i in range(n)], "after compaction and SIGKILL: the last values")
    c.ok(conn.call("GET", "sentinel2") == b"kept" and conn.call("DBSIZE") == n + 1, "nothing else changed")
    srv.kill()

    bad = subprocess.run([exe, "--appendfsync", "sometimes"], capture_output=True)
    c.ok(bad.returncode == 2 and b"--appendfsync" in bad.stderr, "a bad option is refused: %r" % bad.stderr[:80])
    foreign = os.path.join(tmp, "foreign")
    with open(foreign, "wb") as f:
        f.write(b"not a log" * 1000)
    bad = subprocess.run([exe, "--port", str(free_port()), "--aof-file", foreign], capture_output=True, timeout=10)
    c.ok(bad.returncode == 1 and b"refusing" in bad.stderr, "a foreign file is refused: %r" % bad.stderr[:120])
    print("persistence checks: %d of %d passed" % (c.count - c.failures, c.count))
    return c.failures


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def check_idle_cpu(srv):
    """After a big reply to a connection that stays open, an idle server sleeps
    in poll() (regression: it spun at a zero timeout)."""
    conn = Resp("127.0.0.1", srv.port)
    conn.call("SET", "idle", b"i" * (2 << 20))
    conn.call("GET", "idle")
    time.sleep(0.3)
    before = cpu_ticks(srv.proc.pid)
    time.sleep(1.0)
    used = cpu_ticks(srv.proc.pid) - before
    conn.close()
    ok = used < 20  # clock ticks (1/100 s): the 100 ms timer alone costs far less
    if not ok:
        print("FAIL: the idle server used %d clock ticks in one second" % used)
    return 0 if ok else 1


def run_native(exe):
    with tempfile.TemporaryDirectory(prefix="kvstore-test-") as tmp:
        srv = NativeServer(exe, os.path.join(tmp, "checks.log"), "--appendfsync", "everysec")
        try:
            failures = run_checks("127.0.0.1", srv.port) + check_idle_cpu(srv) + run_benchmark("127.0.0.1", srv.port)
        finally:
            srv.kill()
        failures += check_persistence(exe, tmp)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--native", metavar="PATH")
    ap.add_argument("--host")
    ap.add_argument("--port", type=int)
    ap.add_argument("--damage-log", nargs=2, metavar=("FILE", "MODE"))
    args = ap.parse_args()
    if args.damage_log:
        print(damage_log(*args.damage_log))
        return 0
    if not shutil.which("redis-cli") or not shutil.which("redis-benchmark"):
        print("SKIP: redis-cli/redis-benchmark not installed (apt-get install redis-tools)")
        return 77
    if args.native:
        failures = run_native(args.native)
    elif args.host and args.port:
        failures = run_checks(args.host, args.port) + run_benchmark(args.host, args.port)
    else:
        ap.error("give --native PATH or --host H --port P")
    print("kvstore: %s" % ("PASSED" if failures == 0 else "%d FAILED" % failures))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
