#!/usr/bin/env python3
"""Writes the seed corpora of the console, httpd, resp and aof fuzz targets
(tests/fuzz/<target>_corpus/). Each seed is in its target's input format (see
the target's .cpp). Re-run after changing a format; the files are committed so
the replay tests need no Python step.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def console_seeds():
    def out(data):
        return b"".join(bytes([1, (len(data[i:i + 4080]) + 15) // 16]) + data[i:i + 4080].ljust(
            (len(data[i:i + 4080]) + 15) // 16 * 16, b"\n") for i in range(0, len(data), 4080))

    def poke(which, value):
        return bytes([2, which]) + struct.pack("<I", value & 0xFFFFFFFF)

    def typed(data):
        return bytes([4, (len(data) + 15) // 16]) + data.ljust((len(data) + 15) // 16 * 16, b" ")

    return {
        "hello": out(b"hello, console\n") + b"\3",
        "wrap": out(b"x" * 2000) + b"\3" + out(b"y" * 1500) + b"\3" + out(b"z" * 2048) + b"\3",
        "full": out(b"a" * 3000) + b"\3",
        "input": typed(b"ls -l\n" * 100) + bytes([5, 255]) + typed(b"more\n") + b"\3",
        "prod-far": out(b"abc") + poke(3, 100000) + b"\3" + out(b"after") + b"\3",
        "cons-ahead": poke(2, 50) + b"\3" + poke(0, 0xFFFFFFFF) + typed(b"q") + b"\3",
        "wrap-index": poke(2, 0xFFFFFF00) + poke(3, 0xFFFFFF00) + out(b"w" * 600) + b"\3",
    }


def httpd_seeds():
    def req(target, *fields, method=b"GET", version=b"HTTP/1.1"):
        return method + b" " + target + b" " + version + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n"

    return {
        "get": req(b"/index.html", b"Host: a"),
        "range": req(b"/big.bin", b"Host: a", b"Range: bytes=0-499"),
        "range-suffix": req(b"/big.bin", b"Range: bytes=-500", b"If-Range: Tue, 15 Nov 1994 08:12:31 GMT"),
        "range-open": req(b"/f", b"Range: bytes=500-"),
        "range-many": req(b"/f", b"Range: bytes=0-1,5-9"),
        "range-huge": req(b"/f", b"Range: bytes=18446744073709551615-18446744073709551616"),
        "dots": req(b"/a/./b/../../c/%2e%2e/d?x=1"),
        "escape-root": req(b"/../../etc/passwd"),
        "percent": req(b"/%41%zz/%00"),
        "absolute": req(b"http://example.com/docs/", b"Host: example.com"),
        "ims": req(b"/", b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT", b"Connection: close"),
        "http10": req(b"/", b"Connection: keep-alive", version=b"HTTP/1.0"),
        "body": req(b"/up", b"Content-Length: 12", b"Transfer-Encoding: chunked", method=b"POST") + b"hello world!",
        "folded": b"GET / HTTP/1.1\r\nX: a\r\n  b\r\n\r\n",
        "bare-lf": b"\r\n\r\nGET / HTTP/1.1\nHost: a\n\n",
        "incomplete": b"GET /" + b"a" * 300,
    }


def resp_seeds():
    def cmd(*args):
        return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)

    return {
        "set-get": b"\x07" + cmd(b"SET", b"k", b"v") + cmd(b"GET", b"k"),
        "pipeline": b"\x10" + b"".join(cmd(b"INCR", b"n") for _ in range(20)),
        "inline": b"\x03" + b"SET k \"a\\x41\\n b\" 'it''s'\r\nPING\n",
        "inline-unbalanced": b"\x05" + b"SET \"open\r\n",
        "big-bulk": b"\x21" + cmd(b"SET", b"k", b"x" * 400),
        "too-big-bulk": b"\x09" + b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$99999\r\n",
        "too-many-args": b"\x0b" + b"*100000\r\n",
        "negative": b"\x0d" + b"*-1\r\n*0\r\n$-1\r\n",
        "junk-header": b"\x0f" + b"*2\r\n+OK\r\n",
        "missing-crlf": b"\x11" + b"*1\r\n$4\r\nPINGxx",
    }


def aof_seeds():
    def record(*args, stale=False, epoch=0):
        body = b""
        for a in args:
            body += bytes([len(a)]) + a
        return bytes([0 | (4 if stale else 0) | (epoch << 3), len(args) - 1]) + body

    def raw_record(payload, epoch=0):
        return bytes([1 | (epoch << 3), len(payload)]) + payload

    def torn(data):
        return bytes([2, len(data)]) + data

    def skip(n):
        return bytes([3]) + struct.pack("<H", n)

    log = record(b"SET", b"k", b"v") + record(b"RPUSH", b"l", b"a", b"b") + record(b"DEL", b"k")
    return {
        "blank": b"\x01",
        "clean": b"\x04\x01" + log,
        "region-1": b"\x06\x03" + log,
        "torn-tail": b"\x04\x01" + log + torn(b"\x4b\x56\x52\x31garbage"),
        "stale-generation": b"\x04\x01" + log + record(b"SET", b"x", b"y", stale=True) + record(b"SET", b"z", b"w"),
        "epochs": b"\x0c\x01" + record(b"SET", b"a", b"1", epoch=1) + record(b"SET", b"b", b"2", epoch=3) +
                  record(b"SET", b"c", b"3", epoch=2),
        "not-resp": b"\x04\x01" + raw_record(b"PING\r\n") + raw_record(b"*1\r\n$4\r\nPING\r\nextra"),
        "gap": b"\x04\x01" + record(b"SET", b"a", b"1") + skip(3000) + record(b"SET", b"b", b"2"),
        "garbage-run": b"\x04\x01" + log + torn(bytes(range(1, 200))) + skip(600) + torn(b"\xff" * 100),
    }


def write(target, seeds):
    d = os.path.join(HERE, target + "_corpus")
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


write("console", console_seeds())
write("httpd", httpd_seeds())
write("resp", resp_seeds())
write("aof", aof_seeds())
