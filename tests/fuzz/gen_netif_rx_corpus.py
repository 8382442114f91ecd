#!/usr/bin/env python3
"""Writes the seed corpus of the netif-rx fuzz target (tests/fuzz/netif_rx_corpus/).

Each seed is a script in netif_rx_fuzz.cpp's format: the backend writes rx
responses, moves rsp_prod, and netfront polls. netfront posts its buffers
0..127 in order, so response i of a fresh ring answers buffer i. Re-run
after changing the format; the files are committed so the replay test needs
no Python step.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
NETRXF_data_validated, NETRXF_csum_blank, NETRXF_more_data, NETRXF_extra_info = 1, 2, 4, 8
EXTRA_GSO, EXTRA_FLAG_MORE, GSO_TCPV4, GSO_TCPV6 = 1, 1, 1, 2


def rsp(rid, offset, flags, status):
    """A structured response; ids and offsets past the ring's range, and
    negative statuses, are written raw."""
    how = (1 if rid >= 128 else 0) | (2 if offset >= 4096 else 0) | (4 if not 1 <= status <= 4096 else 0)
    out = bytes([0, how])
    out += struct.pack("<H", rid) if how & 1 else bytes([rid])
    out += struct.pack("<H", offset)
    out += bytes([flags])
    out += struct.pack("<h", status) if how & 4 else struct.pack("<H", status - 1)
    return out


def extra(etype, eflags, size=0, gso_type=0):
    return bytes([1]) + struct.pack("<BBHBBH", etype, eflags, size, gso_type, 0, 0)


def responses(*entries):
    return bytes([0, len(entries)]) + b"".join(entries)


POLL = bytes([2])


def prod(delta):
    return bytes([1]) + struct.pack("<I", delta & 0xFFFFFFFF)


def write(name, data):
    d = os.path.join(HERE, "netif_rx_corpus")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


write("one-packet", responses(rsp(0, 0, NETRXF_data_validated, 60)) + POLL)
write("full-ring-twice", responses(*[rsp(i, 2, 0, 100 + i) for i in range(64)]) + POLL +
      responses(*[rsp(64 + i, 0, NETRXF_csum_blank, 1500) for i in range(64)]) + POLL +
      responses(*[rsp(i, 0, 0, 60) for i in range(64)]) + POLL)
write("multi-slot", responses(rsp(0, 0, NETRXF_more_data, 4096), rsp(1, 0, NETRXF_more_data, 4096), rsp(2, 0, 0, 100)) + POLL)
write("gso-extra", responses(rsp(0, 0, NETRXF_extra_info | NETRXF_more_data | NETRXF_csum_blank, 4096),
                             extra(EXTRA_GSO, 0, 1448, GSO_TCPV4), rsp(2, 0, NETRXF_more_data, 4096), rsp(3, 0, 0, 700)) + POLL)
write("extra-chain", responses(rsp(0, 0, NETRXF_extra_info, 200), extra(EXTRA_GSO, EXTRA_FLAG_MORE, 1448, GSO_TCPV6),
                               extra(7, EXTRA_FLAG_MORE), extra(2, 0)) + POLL)
write("bad-gso", responses(rsp(0, 0, NETRXF_extra_info, 200), extra(EXTRA_GSO, 0, 0, 9)) + POLL +
      responses(rsp(2, 0, 0, 64)) + POLL)
write("foreign-id", responses(rsp(500, 0, 0, 64), rsp(0, 0, 0, 64), rsp(0, 0, 0, 64)) + POLL)
write("past-the-page", responses(rsp(0, 4000, 0, 200), rsp(1, 4096, 0, 1), rsp(2, 0, 0, 4096)) + POLL)
write("error-status", responses(rsp(0, 0, 0, -1), rsp(1, 0, NETRXF_more_data, 0), rsp(2, 0, 0, 60)) + POLL)
write("too-many-slots", responses(*[rsp(i, 0, NETRXF_more_data, 64) for i in range(20)], rsp(20, 0, 0, 64)) + POLL)
write("prod-far-ahead", prod(1000) + POLL + responses(rsp(0, 0, 0, 64)) + POLL)
write("prod-backwards", responses(rsp(0, 0, 0, 64)) + POLL + prod(-5) + POLL)
write("unfinished-packet", responses(rsp(0, 0, NETRXF_more_data, 4096)) + POLL)
