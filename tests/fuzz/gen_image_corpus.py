#!/usr/bin/env python3
"""Writes the seed corpus of the image fuzz target (tests/fuzz/image_corpus/):
sealed images laid out as docs/images.md says (valid ones, with and without an
archive) and each kind of damage, plus manifest texts. Re-run after changing
the format; the files are committed so the replay test needs no Python step.
"""
import hashlib
import os
import struct

HEADER = 64
TRAILER = 144


def seal(manifest_keys, elf, archive, abi="0x00040e00"):
    """The bytes of a sealed image, as atoll seal lays them out."""
    text = ""
    for _ in range(4):  # the offsets' digits change the manifest's length
        elf_off = HEADER + len(text)
        lines = manifest_keys + [f"atoll-version 0.1.0", f"xen-abi {abi}",
                                 f"elf {elf_off} {len(elf)} {hashlib.sha256(elf).hexdigest()}"]
        if archive:
            lines.append(f"archive {elf_off + len(elf)} {len(archive)} {hashlib.sha256(archive).hexdigest()}")
        text = "# atoll image manifest (docs/images.md)\n" + "".join(l + "\n" for l in lines)
    return assemble(text.encode(), elf + archive)


def assemble(text, parts):
    size = HEADER + len(text) + len(parts) + TRAILER
    header = b"ATOLLIMG" + struct.pack("<IIQQ", 1, HEADER, len(text), size) + bytes(32)
    digest = hashlib.sha256(header + text).digest()
    trailer = digest + struct.pack("<II", 0, 0) + bytes(96) + b"ATOLLEND"
    return header + text + parts + trailer


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "image_corpus")
    os.makedirs(out, exist_ok=True)
    elf = b"\x7fELF" + bytes(60)
    archive = b"A" * 1024
    keys = ["name demo", "memory 16M", "vifs 1", "publish 8080:80", "disk log rw required"]
    good = seal(keys, elf, archive)
    seeds = {
        "valid": good,
        "valid-no-archive": seal(["name hello"], elf, b""),
        "truncated": good[:len(good) // 2],
        "flipped-elf": good[:HEADER + 300] + bytes([good[HEADER + 300] ^ 1]) + good[HEADER + 301:],
        "foreign-abi": seal(keys, elf, archive, abi="0x00050000"),
        "lying-manifest": assemble(good[HEADER:HEADER + struct.unpack_from("<Q", good, 16)[0]]
                                   .replace(b"elf ", b"elf 1"), elf + archive),
        "manifest-user": ("name kvstore\nmemory 64M\ncmdline --aof off\nvifs 1\npublish 6379:6379\n"
                          "disk log rw ephemeral=64M\n").encode(),
        "manifest-sealed": ("atoll-version 0.1.0\nxen-abi 0x00040e00\nelf 64 10 " + "ab" * 32 + "\n").encode(),
        "empty": b"",
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
