#!/usr/bin/env python3
"""Writes the seed corpora of the netif-tx and blkif fuzz targets
(tests/fuzz/netif_tx_corpus/, tests/fuzz/blkif_corpus/).

Each seed is a script in the target's input format (netif_tx_fuzz.cpp,
blkif_fuzz.cpp): the guest writes pages and grant entries, puts requests on
its ring and notifies. Grant refs 9.. name guest pages 1.. (fuzz_guest.h sets
them up). Re-run after changing a format; the files are committed so the
replay tests need no Python step.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
REF0 = 8  # FuzzGuest::kFirstRef: the ring's grant; page n is ref REF0 + n

# --- netif tx ---------------------------------------------------------------
NETTXF_csum_blank, NETTXF_data_validated, NETTXF_more_data, NETTXF_extra_info = 1, 2, 4, 8
EXTRA_GSO, EXTRA_MCAST_ADD, EXTRA_HASH = 1, 2, 4
GSO_TCPV4, GSO_TCPV6 = 1, 2
MAC = bytes([0x00, 0x16, 0x3e, 0, 0, 1])


def poke_page(page, offset, data):
    """Op 1: bytes into a page, in pieces of at most 1020 bytes (length is in words)."""
    out = b""
    while data:
        part = data[:1020]
        part += b"\0" * (-len(part) % 4)
        out += bytes([1, page]) + struct.pack("<H", offset) + bytes([len(part) // 4]) + part
        offset += len(part)
        data = data[1020:]
    return out


def poke_entry(ref, flags, domid, frame):
    return bytes([0]) + struct.pack("<HHHI", ref, flags, domid, frame)


def tx_req(gref, offset, flags, rid, size):
    return struct.pack("<IHHHH", gref, offset, flags, rid, size)


def tx_extra(etype, flags, payload=b""):
    return (bytes([etype, flags]) + payload).ljust(12, b"\0")


def gso_extra(size, gtype, more=False):
    return tx_extra(EXTRA_GSO, 1 if more else 0, struct.pack("<HBBH", size, gtype, 0, 0))


def push(reqs):
    return bytes([2, len(reqs)]) + b"".join(reqs)


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_frame(payload, v6=False, flags=0x18):
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1000, 0, 5 << 4, flags, 65535, 0, 0)
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, len(tcp) + len(payload), 6, 64) + bytes(15) + b"\1" + bytes(15) + b"\2"
        eth = b"\xff" * 6 + MAC + b"\x86\xdd"
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 1, 0x4000, 64, 6, 0,
                         bytes([10, 0, 2, 15]), bytes([10, 0, 2, 2]))
        ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
        eth = b"\xff" * 6 + MAC + b"\x08\x00"
    return eth + ip + tcp + payload


def udp_frame(payload):
    udp = struct.pack("!HHHH", 5353, 53, 8 + len(payload), 0)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 1, 0, 64, 17, 0,
                     bytes([10, 0, 2, 15]), bytes([10, 0, 2, 3]))
    return b"\xff" * 6 + MAC + b"\x08\x00" + ip + udp + payload


def netif_tx_seeds():
    seeds = {}
    small = tcp_frame(b"hello")
    seeds["one-packet"] = poke_page(1, 0, small) + push([tx_req(REF0 + 1, 0, 0, 1, len(small))]) + b"\4"
    seeds["csum-blank-udp"] = (poke_page(1, 100, udp_frame(b"q" * 40)) +
                               push([tx_req(REF0 + 1, 100, NETTXF_csum_blank, 2, 82)]) + b"\4")
    # A packet in three fragments on three pages.
    frame = tcp_frame(b"x" * 1400)
    a, b, c = frame[:600], frame[600:1200], frame[1200:]
    seeds["three-fragments"] = (poke_page(1, 0, a) + poke_page(2, 0, b) + poke_page(3, 0, c) +
                                push([tx_req(REF0 + 1, 0, NETTXF_more_data, 1, len(frame)),
                                      tx_req(REF0 + 2, 0, NETTXF_more_data, 2, len(b)),
                                      tx_req(REF0 + 3, 0, 0, 3, len(c))]) + b"\4")
    # GSO: a 6000-byte TCP packet over two pages with a GSO extra.
    for name, v6, gtype in (("gso-tcpv4", False, GSO_TCPV4), ("gso-tcpv6", True, GSO_TCPV6)):
        frame = tcp_frame(bytes(range(256)) * 23, v6=v6)
        head, tail = frame[:4000], frame[4000:]
        seeds[name] = (poke_page(1, 0, head) + poke_page(2, 0, tail) +
                       push([tx_req(REF0 + 1, 0, NETTXF_extra_info | NETTXF_more_data | NETTXF_csum_blank, 1,
                                    len(frame)),
                             gso_extra(1448, gtype),
                             tx_req(REF0 + 2, 0, 0, 3, len(tail))]) + b"\4")
    # Extra-info chains: mcast then GSO, a repeated GSO, an unknown type.
    seeds["extra-chain"] = (poke_page(1, 0, small) +
                            push([tx_req(REF0 + 1, 0, NETTXF_extra_info, 1, len(small)),
                                  tx_extra(EXTRA_MCAST_ADD, 1, MAC), tx_extra(EXTRA_HASH, 0)]) + b"\4")
    seeds["extra-repeated-gso"] = (poke_page(1, 0, small) +
                                   push([tx_req(REF0 + 1, 0, NETTXF_extra_info, 1, len(small)),
                                         gso_extra(1448, GSO_TCPV4, more=True), gso_extra(1448, GSO_TCPV4)]) + b"\4")
    seeds["extra-unknown"] = push([tx_req(REF0 + 1, 0, NETTXF_extra_info, 1, 60), tx_extra(9, 0)]) + b"\4"
    # Lies: a fragment over the page end, sizes that do not add up, too many slots.
    seeds["crosses-page"] = push([tx_req(REF0 + 1, 4000, 0, 1, 200)]) + b"\4"
    seeds["sizes-disagree"] = push([tx_req(REF0 + 1, 0, NETTXF_more_data, 1, 60),
                                    tx_req(REF0 + 2, 0, 0, 2, 100)]) + b"\4"
    seeds["too-many-slots"] = push([tx_req(REF0 + 1, 0, NETTXF_more_data, i, 1000 if i == 0 else 10)
                                    for i in range(20)]) + b"\4"
    # Grants: an unknown ref, the ring's own page, a revoked grant, a frame past RAM.
    seeds["bad-grants"] = (push([tx_req(400, 0, 0, 1, 60)]) + b"\4" +
                           push([tx_req(REF0, 0, 0, 2, 60)]) + b"\4" +
                           poke_entry(REF0 + 1, 0, 0, 1) + push([tx_req(REF0 + 1, 0, 0, 3, 60)]) + b"\4" +
                           poke_entry(REF0 + 2, 1, 0, 0xFFFFF) + push([tx_req(REF0 + 2, 0, 0, 4, 60)]) + b"\4")
    # Indices: req_prod far ahead, then backwards.
    seeds["req-prod-far"] = bytes([3]) + struct.pack("<I", 100000) + b"\4"
    seeds["req-prod-back"] = (push([tx_req(REF0 + 1, 0, 0, 1, 60)]) + b"\4" +
                              bytes([3]) + struct.pack("<I", 0xFFFFFFF0) + b"\4")
    return seeds


# --- blkif ------------------------------------------------------------------
OP_READ, OP_WRITE, OP_BARRIER, OP_FLUSH, OP_DISCARD, OP_INDIRECT = 0, 1, 2, 3, 5, 6


def seg(gref, first, last):
    return struct.pack("<IBBH", gref, first, last, 0)


def blk_req(op, rid, sector, segs):
    body = struct.pack("<BBHIQQ", op, len(segs), 0, 0, rid, sector) + b"".join(segs)
    return body.ljust(112, b"\0")


def blk_discard(rid, sector, nr_sectors):
    return struct.pack("<BBHIQQQ", OP_DISCARD, 0, 0, 0, rid, sector, nr_sectors).ljust(112, b"\0")


def blk_indirect(op, nr_segments, rid, sector, grefs):
    # indirect_grefs follow handle at offset 28 (xen/io/blkif.h on x86_64).
    body = struct.pack("<BBHIQQHH", OP_INDIRECT, op, nr_segments, 0, rid, sector, 0, 0)
    body += b"".join(struct.pack("<I", g) for g in grefs)
    return body.ljust(112, b"\0")


def blkif_seeds():
    seeds = {}
    seeds["read-write"] = (b"\0" + push([blk_req(OP_READ, 1, 0, [seg(REF0 + 2, 0, 7)]),
                                         blk_req(OP_WRITE, 2, 8, [seg(REF0 + 3, 0, 7), seg(REF0 + 4, 2, 5)])]) + b"\4")
    seeds["flush-barrier-discard"] = (b"\0" + push([blk_req(OP_FLUSH, 1, 0, []),
                                                    blk_req(OP_FLUSH, 2, 16, [seg(REF0 + 2, 0, 0)]),
                                                    blk_req(OP_BARRIER, 3, 0, []),
                                                    blk_discard(4, 100, 50)]) + b"\4")
    # Indirect: 40 segments on one indirect page (page 5), and two pages' worth.
    segs = b"".join(seg(REF0 + 6 + i % 8, 0, 7) for i in range(40))
    seeds["indirect"] = (b"\0" + poke_page(5, 0, segs) +
                         push([blk_indirect(OP_READ, 40, 1, 64, [REF0 + 5])]) + b"\4")
    seeds["indirect-persistent"] = (b"\2" + poke_page(5, 0, segs) +
                                    push([blk_indirect(OP_WRITE, 40, 1, 64, [REF0 + 5]),
                                          blk_indirect(OP_READ, 40, 2, 64, [REF0 + 5])]) + b"\4")
    seeds["indirect-bad-segment"] = (b"\0" + poke_page(5, 0, seg(REF0 + 6, 7, 2)) +
                                     push([blk_indirect(OP_READ, 1, 1, 0, [REF0 + 5])]) + b"\4")
    seeds["indirect-too-many"] = b"\0" + push([blk_indirect(OP_READ, 600, 1, 0, [REF0 + 5, REF0 + 6])]) + b"\4"
    seeds["out-of-range"] = b"\0" + push([blk_req(OP_READ, 1, 4095, [seg(REF0 + 2, 0, 7)]),
                                          blk_discard(2, 0xFFFFFFFFFFFFFFF0, 32)]) + b"\4"
    seeds["two-page-ring"] = b"\1" + push([blk_req(OP_READ, i, i * 8, [seg(REF0 + 3, 0, 7)]) for i in range(40)]) + b"\4"
    seeds["bad-grants"] = (b"\0" + poke_entry(REF0 + 2, 0, 0, 2) +
                           push([blk_req(OP_READ, 1, 0, [seg(REF0 + 2, 0, 7)]),
                                 blk_req(OP_WRITE, 2, 0, [seg(REF0, 0, 7)]),
                                 blk_indirect(OP_READ, 4, 3, 0, [600])]) + b"\4")
    seeds["req-prod-far"] = b"\0" + bytes([3]) + struct.pack("<I", 5000) + b"\4"
    return seeds


def write(directory, seeds):
    os.makedirs(directory, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(directory, name), "wb") as f:
            f.write(data)


write(os.path.join(HERE, "netif_tx_corpus"), netif_tx_seeds())
write(os.path.join(HERE, "blkif_corpus"), blkif_seeds())
