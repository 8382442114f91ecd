#!/usr/bin/env python3
"""Writes the seed corpora of the hypercall argument fuzz targets
(tests/fuzz/gnttab_copy_corpus/, tests/fuzz/multicall_corpus/).

Each seed is a script in the target's input format (gnttab_copy_fuzz.cpp,
multicall_fuzz.cpp). Data page n is guest frame DATA_GFN + n
(fuzz_domain.h); the domain is domain 1. Re-run after changing a format; the
files are committed so the replay tests need no Python step.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
DOMID_SELF = 0x7FF0
GTF_permit_access, GTF_readonly = 1, 4
GNTCOPY_source_gref, GNTCOPY_dest_gref = 1, 2


def write(corpus, name, data):
    d = os.path.join(HERE, corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- GNTTABOP_copy --------------------------------------------------------------
def grant(ref, page, flags=GTF_permit_access):
    """Op 0: entry `ref` grants domain 1 data page `page`."""
    return bytes([0]) + struct.pack("<HH", ref, flags) + bytes([1, page % 16])


def grant_raw(ref, flags, domid, frame):
    return bytes([0]) + struct.pack("<HH", ref, flags) + bytes([0]) + struct.pack("<H", domid) + bytes([0x80]) + struct.pack("<I", frame)


def data(page, offset, payload):
    payload += b"\0" * (-len(payload) % 16)
    return bytes([1, page]) + struct.pack("<H", offset) + bytes([len(payload) // 16]) + payload


def side(gref, value, offset, domid=None, raw_offset=False):
    """One side of a copy: a ref (u16) or a data page (byte), domain SELF unless
    given; the offset is taken modulo the page unless `raw_offset`."""
    if domid is None:
        how = 1
        out = b""
    else:
        how = 0
        out = struct.pack("<H", domid)
    if raw_offset:
        how |= 8
    out = bytes([how]) + out
    out += struct.pack("<H", value) if gref else bytes([value])
    return out + struct.pack("<H", offset)


def copy_entry(src, dst, length, flags):
    return bytes([0, flags]) + src + dst + bytes([0]) + struct.pack("<H", length)


def copies(*entries, count=None):
    n = len(entries) if count is None else count
    head = bytes([n]) if n < 9 and count is None else bytes([0x80]) + struct.pack("<H", n)
    return bytes([2]) + head + b"".join(entries) + bytes([0])


def setup(frames):
    return bytes([3, 1, frames, 0])


def gnttab_copy_corpus():
    base = grant(8, 0) + grant(9, 1) + grant(10, 2, GTF_permit_access | GTF_readonly) + data(0, 0, bytes(range(256)) * 4)
    write("gnttab_copy_corpus", "gref-to-frame", base + copies(copy_entry(side(True, 8, 0), side(False, 3, 0), 1024, GNTCOPY_source_gref)))
    write("gnttab_copy_corpus", "frame-to-gref", base + copies(copy_entry(side(False, 0, 16), side(True, 9, 100), 500, GNTCOPY_dest_gref)))
    write("gnttab_copy_corpus", "gref-to-gref", base + copies(copy_entry(side(True, 8, 0), side(True, 9, 0), 4096, GNTCOPY_source_gref | GNTCOPY_dest_gref)))
    write("gnttab_copy_corpus", "frame-to-frame", base + copies(copy_entry(side(False, 0, 8), side(False, 5, 4000), 96, 0)))
    write("gnttab_copy_corpus", "into-readonly-grant", base + copies(copy_entry(side(False, 0, 0), side(True, 10, 0), 64, GNTCOPY_dest_gref)))
    write("gnttab_copy_corpus", "past-the-page", base + copies(copy_entry(side(True, 8, 4000), side(False, 3, 0), 200, GNTCOPY_source_gref),
                                                           copy_entry(side(False, 0, 0), side(False, 3, 4096, raw_offset=True), 1, 0)))
    write("gnttab_copy_corpus", "other-domain", base + copies(copy_entry(side(True, 8, 0, domid=0), side(False, 3, 0), 64, GNTCOPY_source_gref)))
    write("gnttab_copy_corpus", "ref-past-table", base + copies(copy_entry(side(True, 1500, 0), side(False, 3, 0), 64, GNTCOPY_source_gref)) +
          setup(4) + grant(1500, 4) + copies(copy_entry(side(True, 1500, 0), side(False, 3, 0), 64, GNTCOPY_source_gref)))
    write("gnttab_copy_corpus", "grant-of-hypervisor-frame", base + grant_raw(11, GTF_permit_access, 1, 0xF0000) +
          copies(copy_entry(side(False, 0, 0), side(True, 11, 0), 64, GNTCOPY_dest_gref)))
    write("gnttab_copy_corpus", "grant-to-dom0", base + grant_raw(12, GTF_permit_access, 0, 0x190) +
          copies(copy_entry(side(True, 12, 0), side(False, 3, 0), 64, GNTCOPY_source_gref)))
    write("gnttab_copy_corpus", "same-grant-both-sides", base + copies(copy_entry(side(True, 9, 0), side(True, 9, 2048), 2048, GNTCOPY_source_gref | GNTCOPY_dest_gref)))
    write("gnttab_copy_corpus", "too-many", base + copies(copy_entry(side(False, 0, 0), side(False, 1, 0), 8, 0), count=600))
    write("gnttab_copy_corpus", "list-unreadable", base + bytes([2, 1]) + copy_entry(side(False, 0, 0), side(False, 1, 0), 8, 0) +
          bytes([0xff]) + struct.pack("<Q", 0x10))
    write("gnttab_copy_corpus", "other-commands", base + bytes([4, 0, 6, 8]) + struct.pack("<HHI", DOMID_SELF, 0, 0) + bytes([0, 0]) +
          bytes([4, 0, 8, 0, 0, 0]) + bytes([4, 0, 9, 4]) + struct.pack("<I", 1) + bytes([0, 0]))


# --- multicall ------------------------------------------------------------------
EVTCHNOP = dict(bind_interdomain=0, bind_virq=1, close=3, send=4, status=5, alloc_unbound=6, bind_ipi=7, bind_vcpu=8, unmask=9)
SCHEDOP_yield, SCHEDOP_block, SCHEDOP_shutdown, SCHEDOP_poll = 0, 1, 2, 3
HYP_set_timer_op, HYP_event_channel_op, HYP_sched_op = 15, 32, 29


def structs(slot, payload):
    """Op 0: bytes at struct slot `slot` (each 32 bytes), which pointer() names."""
    return bytes([0]) + struct.pack("<H", slot * 32) + bytes([len(payload)]) + payload


def evtchn(cmd, slot):
    return bytes([0, EVTCHNOP[cmd], slot])


def timer(deadline):
    return bytes([1]) + struct.pack("<Q", deadline)


def sched(cmd, slot=0):
    return bytes([2, cmd, slot])


def other(op):
    """A call by number, its six arguments zero."""
    return bytes([4, op]) + (bytes([0]) + struct.pack("<I", 0)) * 6


def multicall(*entries, count=None):
    n = len(entries) if count is None else count
    head = bytes([n]) if n < 34 and count is None else bytes([0x80]) + struct.pack("<I", n)
    return bytes([1]) + head + b"".join(entries) + bytes([0])


def alone(cmd, slot):
    return bytes([2, 0, EVTCHNOP[cmd], slot])


def multicall_corpus():
    alloc = structs(0, struct.pack("<HHI", DOMID_SELF, 0, 0))
    alloc_self = structs(1, struct.pack("<HHI", DOMID_SELF, DOMID_SELF, 0))
    send1 = structs(2, struct.pack("<I", 1))
    virq = structs(3, struct.pack("<III", 0, 0, 0))  # VIRQ_TIMER on vCPU 0
    inter = structs(4, struct.pack("<HHI", DOMID_SELF, 2, 0))  # bind to our own port 2
    poll = structs(5, struct.pack("<QIIQ", 0x1900A0 + 0x40000000, 1, 0, 1))
    write("multicall_corpus", "idle-loop", alloc + send1 + multicall(evtchn("alloc_unbound", 0), evtchn("send", 2), timer(1 << 40), sched(SCHEDOP_block)))
    write("multicall_corpus", "too-many-calls", alloc + multicall(*[evtchn("alloc_unbound", 0)] * 33))
    write("multicall_corpus", "block-not-last", multicall(sched(SCHEDOP_block), timer(0)))
    write("multicall_corpus", "shutdown-refused", structs(0, struct.pack("<I", 0)) + multicall(sched(SCHEDOP_shutdown, 0)))
    write("multicall_corpus", "poll-refused", poll + multicall(sched(SCHEDOP_poll, 5)))
    write("multicall_corpus", "calls-it-may-not-hold", multicall(other(20), other(1), other(255)))
    write("multicall_corpus", "loopback-channel", alloc_self + inter + send1 + multicall(evtchn("alloc_unbound", 1), evtchn("bind_interdomain", 4),
                                                                                      evtchn("send", 2), evtchn("status", 2), evtchn("close", 2)))
    write("multicall_corpus", "virq-and-unmask", virq + send1 + multicall(evtchn("bind_virq", 3), evtchn("unmask", 2), evtchn("bind_vcpu", 2)))
    write("multicall_corpus", "list-unreadable", bytes([1, 2]) + evtchn("send", 2) + timer(0) + bytes([0xff]) + struct.pack("<Q", 0xF0040000 + 0x40000000))
    write("multicall_corpus", "alone", alloc + alone("alloc_unbound", 0) + alone("status", 0) + bytes([2, 1]) + struct.pack("<Q", 1 << 40) + bytes([0]))


gnttab_copy_corpus()
multicall_corpus()
