#!/usr/bin/env python3
"""Writes the seed corpus of the tar fuzz target (tests/fuzz/tar_corpus/):
small archives in each dialect the reader takes (POSIX ustar, GNU long names,
pax headers) and a few it must refuse. Made with Python's tarfile; re-run after
changing a seed. The files are committed so the replay test needs no Python.
"""
import io
import os
import tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "tar_corpus")
# Two end blocks, no padding to tar's 10 KiB records: small seeds fuzz faster.
tarfile.RECORDSIZE = 1024


def archive(fmt, members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in members:
            info.mtime = 1700000000
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buf.getvalue()


def file(name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    return info, data


def entry(name, kind, link=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mode = 0o755
    return info, None


def seeds():
    site = [entry("site", tarfile.DIRTYPE), file("site/index.html", b"<h1>hi</h1>\n"),
            entry("site/docs", tarfile.DIRTYPE), file("site/docs/a.txt", b"a" * 700),
            entry("site/latest", tarfile.SYMTYPE, "docs/a.txt")]
    out = {
        "ustar": archive(tarfile.USTAR_FORMAT, site),
        "gnu-long-name": archive(tarfile.GNU_FORMAT, [file("d/" + "n" * 150, b"long"),
                                                      entry("l", tarfile.SYMTYPE, "t" * 120)]),
        "pax": archive(tarfile.PAX_FORMAT, [file("p/" + "q" * 200, b"pax"),
                                            file("unicode-\u00e9", b"x")]),
        "duplicates": archive(tarfile.USTAR_FORMAT, [file("a", b"one"), file("a", b"two"),
                                                     entry("a", tarfile.DIRTYPE), file("a/b", b"")]),
        "dot-dot": archive(tarfile.USTAR_FORMAT, [file("./x/../y", b"y"), file("../escape", b"no")]),
        "hardlink-fifo": archive(tarfile.USTAR_FORMAT, [file("f", b"f"), entry("h", tarfile.LNKTYPE, "f"),
                                                        entry("fifo", tarfile.FIFOTYPE)]),
    }
    # Damage: a truncated archive, a bad checksum, a size past the end.
    good = out["ustar"]
    out["truncated"] = good[:700]
    bad = bytearray(good)
    bad[148:156] = b"0000000\0"
    out["bad-checksum"] = bytes(bad)
    big = bytearray(archive(tarfile.USTAR_FORMAT, [file("big", b"x" * 10)]))
    big[124:136] = b"77777777777\0"
    out["size-past-end"] = bytes(big)
    return out


os.makedirs(OUT, exist_ok=True)
for name, data in seeds().items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
