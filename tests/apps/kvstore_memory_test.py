#!/usr/bin/env python3
"""The kvstore appliance at `atoll run`'s default memory (16 MiB) under a
pipeline of 1,000,000 SETs, far more than fits (it used to crash the domain:
operator new failed inside the key space):

- maxmemory-policy noeviction (the default): once full, SETs get Redis's
  -OOM reply; the appliance stays up (PING), and every SET that was
  acknowledged with +OK reads back;
- allkeys-lru with the append-only log on (its defaults: appendfsync
  everysec): every SET is acknowledged, the newest keys are all there, and
  INFO's used_memory less the log's buffers (mem_not_counted_for_evict, as
  Redis) is within maxmemory, with evicted_keys counted. The log used to run
  the heap out here: one command's evictions (~24,000 after the key table
  doubled), each a logged DEL, grew the pending batch past a MiB. Then the
  appliance is stopped and booted again on the same disk: the log brings
  back every key, the newest ones included.

The pipeline is sent from a thread while the replies are read, each reply
matched to its SET by order.

usage: kvstore_memory_test.py ATOLL KVSTORE_IMAGE"""

import os
import re
import socket
import sys
import tempfile
import threading
import time

from appliance import Appliance, free_port

N = 1_000_000


def set_cmd(i):
    k, v = b"key:%d" % i, b"val:%d" % i
    return b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v)


class Lines:
    """Reply lines from a socket, in order (every reply used here is made of
    lines: simple strings, errors, and the "$len" + value lines of values
    that hold no CR or LF)."""

    def __init__(self, sock):
        self.sock, self.buf, self.lines, self.pos = sock, b"", [], 0

    def next(self):
        while self.pos == len(self.lines):
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
            self.lines = self.buf.split(b"\r\n")
            self.buf = self.lines.pop()
            self.pos = 0
        self.pos += 1
        return self.lines[self.pos - 1]


def pipeline_sets(port):
    """Sends the N SETs; returns (acknowledged flags, OOM count, other replies)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    acked, other, oom = bytearray(N), [], [0]

    def send():
        for start in range(0, N, 20000):
            sock.sendall(b"".join(set_cmd(i) for i in range(start, min(N, start + 20000))))

    def on_line(i, line):
        if line == b"+OK":
            acked[i] = 1
        elif line.startswith(b"-OOM command not allowed when used memory > 'maxmemory'"):
            oom[0] += 1
        elif len(other) < 5:
            other.append((i, line))

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    lines = Lines(sock)
    for i in range(N):
        on_line(i, lines.next())
    sender.join()
    sock.close()
    return acked, oom[0], other


def call(port, *args):
    """One command with redis-cli-like plain reply lines (no bulk parsing needed here)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(b"".join([b"*%d\r\n" % len(args)] + [b"$%d\r\n%s\r\n" % (len(a), a) for a in map(str.encode, args)]))
        data = b""
        while not data.endswith(b"\r\n") or (data.startswith(b"$") and data.count(b"\r\n") < 2 and b"$-1" not in data):
            chunk = s.recv(1 << 16)
            if not chunk:
                break
            data += chunk
        return data.decode()


def info_field(port, name):
    m = re.search(r"^%s:(\d+)\r$" % name, call(port, "INFO", "memory", "stats"), re.M)
    return int(m.group(1)) if m else None


def read_back(port, indexes):
    """The keys that do not read back as their value (MGET in batches)."""
    wrong = []
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        for start in range(0, len(indexes), 5000):
            batch = indexes[start:start + 5000]
            keys = [b"key:%d" % i for i in batch]
            s.sendall(b"*%d\r\n$4\r\nMGET\r\n" % (len(keys) + 1) + b"".join(b"$%d\r\n%s\r\n" % (len(k), k) for k in keys))
            lines = Lines(s) if start == 0 else lines
            assert lines.next() == b"*%d" % len(batch)
            got = []
            for _ in batch:
                head = lines.next()
                got.append(None if head == b"$-1" else lines.next())
            wrong += [i for i, v in zip(batch, got) if v != b"val:%d" % i]
    return wrong


def boot(atoll, image, disk, guest_args, fresh=True):
    if fresh:
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
    port = free_port()
    app = Appliance(atoll, image, ["--disk", disk, "-p", f"{port}:6379"], guest_args=guest_args,
                    ready=r"kvstore: listening", timeout=120)
    return app, port


def noeviction(atoll, image, tmp):
    app, port = boot(atoll, image, os.path.join(tmp, "noevict.img"), [])
    with app:
        acked, oom, other = pipeline_sets(port)
        n_acked = sum(acked)
        print(f"noeviction: {n_acked} SETs acknowledged, {oom} refused with -OOM")
        if other:
            print(f"FAIL: unexpected replies {other}")
            return 1
        if oom == 0 or n_acked == 0 or not app.alive() or call(port, "PING") != "+PONG\r\n":
            print(f"FAIL: want -OOM replies once full and a live appliance\n{app.output()}")
            return 1
        wrong = read_back(port, [i for i in range(N) if acked[i]])
        if wrong:
            print(f"FAIL: {len(wrong)} acknowledged keys do not read back, e.g. key:{wrong[0]}")
            return 1
        print(f"PASS every acknowledged key reads back; PING answers")
    return 0


def allkeys_lru(atoll, image, tmp):
    disk = os.path.join(tmp, "lru.img")
    args = ["--maxmemory-policy", "allkeys-lru"]
    newest = list(range(N - 2000, N))
    app, port = boot(atoll, image, disk, args)
    with app:
        acked, oom, other = pipeline_sets(port)
        if sum(acked) != N:
            print(f"FAIL: allkeys-lru acknowledged {sum(acked)} of {N} (OOM {oom}, other {other})\n{app.output()}")
            return 1
        wrong = read_back(port, newest)
        used, log, maxmemory, evicted, heap_in_use, heap_limit = (info_field(port, f) for f in (
            "used_memory", "mem_not_counted_for_evict", "maxmemory", "evicted_keys", "heap_in_use", "heap_limit"))
        keys = int(call(port, "DBSIZE")[1:])
        print(f"allkeys-lru, log on: used_memory {used} ({log} of it the log's buffers), maxmemory {maxmemory}, "
              f"evicted_keys {evicted}, {keys} keys; heap {heap_in_use} of {heap_limit} in use")
        if wrong or not used or not maxmemory or used - log > maxmemory or not evicted or not app.alive():
            print(f"FAIL: {len(wrong)} of the newest 2000 keys missing, memory over the limit, or the appliance died")
            return 1
        print("PASS allkeys-lru: all SETs acknowledged, the newest 2000 keys present, used_memory <= maxmemory")
        # appendfsync everysec: what was acknowledged more than a second ago
        # is on the disk.
        time.sleep(1.5)
    app, port = boot(atoll, image, disk, args, fresh=False)
    with app:
        wrong = read_back(port, newest)
        after = int(call(port, "DBSIZE")[1:])
        print(f"after a reboot on the same disk: {after} keys, {len(wrong)} of the newest 2000 missing")
        if wrong or after != keys:
            print(f"FAIL: the log did not bring back what was acknowledged\n{app.output()}")
            return 1
        print("PASS the log brings back every key after a reboot")
    return 0


def main():
    atoll, image = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        return noeviction(atoll, image, tmp) or allkeys_lru(atoll, image, tmp)


if __name__ == "__main__":
    sys.exit(main())
