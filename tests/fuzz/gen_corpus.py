#!/usr/bin/env python3
"""Writes the seed corpus of the xenstored fuzz target (tests/fuzz/corpus/).

Each seed is a script in the target's input format (see xenstored_fuzz.cpp):
requests from domain 0 and guests, ring traffic, hostile indices. Re-run after
changing the format; the files are committed so the replay test needs no
Python step.
"""
import os
import struct

XS = dict(CONTROL=0, DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5, TRANSACTION_START=6,
          TRANSACTION_END=7, INTRODUCE=8, RELEASE=9, GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13,
          SET_PERMS=14, WATCH_EVENT=15, ERROR=16, IS_DOMAIN_INTRODUCED=17, RESUME=18, SET_TARGET=19,
          RESET_WATCHES=21, DIRECTORY_PART=22)


def msg(kind, *args, tx=0, req=1, raw=None):
    payload = raw if raw is not None else b"".join(a.encode() + b"\0" for a in args)
    return struct.pack("<IIII", XS[kind], req, tx, len(payload)) + payload


def write(path, value, tx=0):
    return msg("WRITE", raw=path.encode() + b"\0" + value.encode(), tx=tx)


def stream(client, data):
    """Op 0..2: data for a stream client, in chunks of at most 255 bytes."""
    out = b""
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        out += bytes([client, len(part)]) + part
    return out


def ring(data):
    out = b""
    for i in range(0, len(data), 255):
        part = data[i:i + 255]
        out += bytes([3, len(part)]) + part + bytes([4])
    return out


NOTIFY, READ_RSP, RECONNECT = bytes([4]), bytes([6]), bytes([7])


def poke(which, value):
    return bytes([5, which]) + struct.pack("<I", value & 0xFFFFFFFF)


SEEDS = {
    "dom0-basics": stream(0, write("/a/b", "v") + msg("READ", "/a/b") + msg("DIRECTORY", "/a")
                          + msg("GET_PERMS", "/a/b") + msg("SET_PERMS", "/a/b", "n1", "r2")
                          + msg("MKDIR", "/m") + msg("RM", "/a") + msg("GET_DOMAIN_PATH", "5")),
    "guest-home": stream(1, write("data/x", "1") + msg("READ", "data/x") + write("/local/domain/2/x", "no")
                         + msg("SET_PERMS", "data/x", "n1", "r2") + msg("SET_PERMS", "data/x", "n2")),
    "watches": stream(0, msg("WATCH", "/w", "t") + msg("WATCH", "@releaseDomain", "r"))
    + stream(1, msg("WATCH", "data", "mine") + msg("WATCH", "/local/domain/2", "theirs"))
    + stream(0, write("/local/domain/1/data/y", "z") + msg("RM", "/local/domain/1"))
    + stream(1, msg("UNWATCH", "data", "mine") + msg("RESET_WATCHES", "")),
    "transactions": stream(1, msg("TRANSACTION_START", "") + write("data/t", "1", tx=1)
                           + msg("READ", "data/t", tx=1))
    + stream(2, msg("TRANSACTION_START", "") + write("/local/domain/2/q", "1", tx=1))
    + stream(0, write("/local/domain/1/data/t", "outside"))
    + stream(1, msg("TRANSACTION_END", "T", tx=1))
    + stream(2, msg("TRANSACTION_END", "F", tx=1) + msg("TRANSACTION_END", "T", tx=9)),
    "quota": stream(1, b"".join(write(f"n{i}", "x" * 70 if i % 7 == 0 else "y") for i in range(50))),
    "privileged": stream(2, msg("INTRODUCE", "4", "1", "1") + msg("RELEASE", "4"))
    + stream(0, msg("INTRODUCE", "4", "1", "1") + msg("IS_DOMAIN_INTRODUCED", "4") + msg("RESUME", "4")
             + msg("RELEASE", "4") + msg("SET_TARGET", "4", "5")),
    "malformed": stream(0, msg("READ", raw=b"/no/nul") + msg("WRITE", raw=b"") + msg("WATCH", raw=b"/a\0")
                        + struct.pack("<IIII", 999, 1, 0, 0) + msg("READ", "//bad")
                        + msg("DIRECTORY_PART", "/", "notanumber"))
    + stream(1, struct.pack("<IIII", 2, 1, 0, 5000) + msg("READ", "data")),
    "length-lies": stream(2, struct.pack("<IIII", 11, 1, 0, 40) + b"/local/domain/2/x\0v")
    + stream(2, msg("READ", "/local/domain/2/x")),
    "ring-basics": ring(msg("READ", "name") + write("data/r", "1") + msg("WATCH", "data", "t")) + READ_RSP
    + stream(0, write("/local/domain/3/data/r", "2")) + NOTIFY + READ_RSP,
    "ring-big": ring(write("data/big", "b" * 60) * 20) + READ_RSP + NOTIFY + READ_RSP + NOTIFY,
    "ring-hostile": ring(msg("READ", "name")) + poke(1, 5000) + NOTIFY + RECONNECT + NOTIFY
    + ring(msg("READ", "name")) + poke(2, 0xFFFFFFF0) + NOTIFY + RECONNECT + NOTIFY
    + ring(struct.pack("<IIII", 2, 1, 0, 4097)),
    "ring-wrap": poke(0, 0xFFFFFFC0) + poke(1, 0xFFFFFFC0) + poke(2, 0xFFFFFFC0) + poke(3, 0xFFFFFFC0)
    + ring(msg("GET_DOMAIN_PATH", "3") * 8) + READ_RSP,
    "ring-deaf": ring(msg("WATCH", "data", "t")) + stream(0, b"".join(
        write("/local/domain/3/data/k", str(i)) for i in range(200))) + NOTIFY,
    "directory-part": stream(0, b"".join(msg("MKDIR", f"/d/{'n' * 60}{i}") for i in range(80))
                             + msg("DIRECTORY", "/d") + msg("DIRECTORY_PART", "/d", "0")
                             + msg("DIRECTORY_PART", "/d", "4000")),
}


def main():
    out_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
    os.makedirs(out_dir, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out_dir, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {out_dir}")


if __name__ == "__main__":
    main()
