#!/usr/bin/env python3
"""Writes the seed corpus of the elf fuzz target (tests/fuzz/elf_corpus/):
small static x86-64 images as the hosted platform takes them (two PT_LOAD
segments, the Atoll platform note, a symbol table with a C and a C++ name),
and the same image broken in a few of the ways elf_image.cpp refuses. Re-run
after changing a seed; the files are committed so the replay test needs no
Python step.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
LINK = 0x40100000  # hosted::gpa_to_va(kImageGpa)
PT_LOAD, PT_NOTE = 1, 4
PF_X, PF_W, PF_R = 1, 2, 4
SHT_SYMTAB, SHT_STRTAB = 2, 3
STT_FUNC = 2


def image(entry=LINK + 0x100, text_flags=PF_R | PF_X, symbols=True, note=b"hosted", data_vaddr=LINK + 0x2200):
    note_bytes = struct.pack("<III", 6, 8, 1) + b"Atoll\0\0\0" + note.ljust(8, b"\0")
    phdrs = [
        (PT_LOAD, text_flags, 0, LINK, 0x200, 0x200),
        (PT_LOAD, PF_R | PF_W, 0x200, data_vaddr, 0x40, 0x1000),
        (PT_NOTE, PF_R, 0x180, 0, len(note_bytes), len(note_bytes)),
    ]
    out = bytearray(0x240)
    out[0x180:0x180 + len(note_bytes)] = note_bytes
    for i, (ptype, flags, off, vaddr, filesz, memsz) in enumerate(phdrs):
        out[64 + 56 * i:64 + 56 * (i + 1)] = struct.pack("<IIQQQQQQ", ptype, flags, off, vaddr, vaddr, filesz, memsz,
                                                         0x1000 if ptype == PT_LOAD else 4)
    shoff = shnum = 0
    if symbols:
        strtab = b"\0main\0_ZN2kv8Keyspace3setERKNSt7__cxx1112basic_stringIcEE\0atoll_wants_network\0"
        syms = struct.pack("<IBBHQQ", 0, 0, 0, 0, 0, 0)
        syms += struct.pack("<IBBHQQ", 1, STT_FUNC | 0x10, 0, 1, LINK + 0x100, 0x20)
        syms += struct.pack("<IBBHQQ", 6, STT_FUNC | 0x10, 0, 1, LINK + 0x120, 0x10)
        syms += struct.pack("<IBBHQQ", strtab.index(b"atoll_wants"), STT_FUNC | 0x10, 0, 1, LINK + 0x130, 0x8)
        sym_off = len(out)
        out += syms
        str_off = len(out)
        out += strtab
        while len(out) % 8:
            out += b"\0"
        shoff = len(out)
        shdrs = [bytes(64),
                 struct.pack("<IIQQQQIIQQ", 0, SHT_SYMTAB, 0, 0, sym_off, len(syms), 2, 1, 8, 24),
                 struct.pack("<IIQQQQIIQQ", 0, SHT_STRTAB, 0, 0, str_off, len(strtab), 0, 0, 1, 0)]
        out += b"".join(shdrs)
        shnum = 3
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, shoff, 0, 64, 56, len(phdrs), 64, shnum, 0)
    out[0:64] = header
    return bytes(out)


def seeds():
    good = image()
    truncated = good[:0x1f0]
    return {
        "good": good,
        "stripped": image(symbols=False),
        "no-note": image(note=b"xen"),
        "wx-text": image(text_flags=PF_R | PF_W | PF_X),
        "entry-outside": image(entry=LINK + 0x5000),
        "overlap": image(data_vaddr=LINK + 0x200),
        "below-window": image(data_vaddr=0x1000),
        "truncated": truncated,
    }


d = os.path.join(HERE, "elf_corpus")
os.makedirs(d, exist_ok=True)
for name, data in seeds().items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
