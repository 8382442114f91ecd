#!/usr/bin/env python3
"""Sealed images end to end through the atoll command line (docs/images.md):

  - seal -> inspect --json (parsed and checked against the files) -> run, with
    the manifest's defaults (memory, command line, published port) in effect
    and the archive served by httpd from the boot module;
  - the tamper matrix: truncation at several offsets, a flipped byte in each
    part (ELF, archive, manifest, digest, signature), an empty file, a random
    file, a manifest lying about its parts, a foreign ABI: each refused with its
    own fault, by inspect and by run, and run never creates a domain for it;
  - a required disk missing: refused naming --disk;
  - keygen, sign, run --require-signed --trusted-keys with a trusted key, an
    unknown key, an unsigned image, a bare ELF and a signature over other bytes.

    sealed_image_test.py ATOLL HELLO_ELF HTTPD_ELF
"""
import hashlib
import json
import os
import random
import shutil
import socket
import stat
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

HEADER = 64
TRAILER = 144
failures = []


def check(ok, what):
    print(("PASS " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


def atoll(*args, timeout=60, **kw):
    return subprocess.run([ATOLL, *args], capture_output=True, text=True, timeout=timeout, **kw)


def layout(data):
    """(manifest_size, manifest text) of a sealed image's bytes."""
    msize = struct.unpack_from("<Q", data, 16)[0]
    return msize, data[HEADER:HEADER + msize].decode()


def reassemble(text, parts):
    """An unsigned image around `text` with a correct digest: the forger's best effort."""
    size = HEADER + len(text) + len(parts) + TRAILER
    header = b"ATOLLIMG" + struct.pack("<IIQQ", 1, HEADER, len(text), size) + bytes(32)
    digest = hashlib.sha256(header + text).digest()
    return header + text + parts + digest + struct.pack("<II", 0, 0) + bytes(96) + b"ATOLLEND"


def parts_of(data):
    msize, _ = layout(data)
    return data[HEADER + msize:len(data) - TRAILER]


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)
    return path


def refused_everywhere(path, fault, what, extra_run=()):
    """inspect exits 1 and run exits 125 with `fault` named, and no domain exists."""
    i = atoll("inspect", path)
    r = atoll("run", "-v", *extra_run, path)
    domain_made = "dom1:" in r.stderr or "dom" in r.stdout
    ok = (i.returncode == 1 and f"({fault})" in i.stderr and r.returncode == 125 and f"({fault})" in r.stderr
          and not domain_made)
    check(ok, f"{what}: refused as {fault}" + ("" if ok else f" (inspect {i.returncode}: {i.stderr.strip()}; "
                                                               f"run {r.returncode}: {r.stderr.strip()[-300:]})"))


def free_port():
    for port in range(32900, 33000):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in 32900-32999")


def test_help():
    for verb in ["seal", "inspect", "keygen", "sign"]:
        r = atoll(verb, "--help")
        check(r.returncode == 0 and r.stdout.startswith(f"usage: atoll {verb}"), f"atoll {verb} --help")
    r = atoll("run", "--help")
    check("--require-signed" in r.stdout and "--trusted-keys DIR" in r.stdout, "atoll run --help names the signing options")


def test_round_trip(tmp):
    site = os.path.join(tmp, "site")
    os.makedirs(os.path.join(site, "sub"))
    write(os.path.join(site, "index.html"), b"<p>sealed hello</p>\n")
    write(os.path.join(site, "sub", "data.txt"), b"x" * 5000)
    image = os.path.join(tmp, "hello.img")
    r = atoll("seal", HELLO, "--archive", site, "--memory", "24M", "--cmdline", "alpha 'beta gamma'",
              "--name", "hello-sealed", "--disk", "scratch,rw,ephemeral=1M", "-o", image)
    if not check(r.returncode == 0, "seal hello with an archive directory and manifest flags" + r.stderr):
        return None
    data = open(image, "rb").read()
    r = atoll("inspect", "--json", image)
    try:
        j = json.loads(r.stdout)
    except ValueError:
        check(False, "inspect --json prints JSON: " + r.stdout[:200] + r.stderr)
        return None
    msize, text = layout(data)
    digest = hashlib.sha256(data[:HEADER + msize]).hexdigest()
    elf = open(HELLO, "rb").read()
    m = j["manifest"]
    check(j["sealed"] is True and j["format"] == 1 and j["size"] == len(data), "inspect: sealed, format 1, size")
    check(j["digest"] == "sha256:" + digest, "inspect: digest is SHA-256 of header and manifest")
    check(j["signature"] is None, "inspect: unsigned")
    check(j["parts"]["elf"]["size"] == len(elf) and j["parts"]["elf"]["sha256"] == hashlib.sha256(elf).hexdigest()
          and data[j["parts"]["elf"]["offset"]:][:len(elf)] == elf, "inspect: the ELF part is the ELF")
    ar = j["parts"]["archive"]
    check(ar is not None and ar["size"] % 512 == 0 and ar["offset"] == j["parts"]["elf"]["offset"] + len(elf)
          and ar["offset"] + ar["size"] == j["parts"]["trailer"]["offset"]
          and b"sealed hello" in data[ar["offset"]:ar["offset"] + ar["size"]], "inspect: the archive part")
    check(j["parts"]["manifest"] == {"offset": 64, "size": msize}, "inspect: manifest part")
    check(m["name"] == "hello-sealed" and m["memory"] == 24 << 20 and m["cmdline"] == "alpha 'beta gamma'"
          and m["disks"] == [{"name": "scratch", "read_only": False, "need": "ephemeral", "ephemeral_size": 1 << 20, "unless": []}]
          and m["xen_abi"] == "0x00040e00" and m["atoll_version"], "inspect: the manifest's keys")
    again = os.path.join(tmp, "hello2.img")
    atoll("seal", HELLO, "--archive", site, "--memory", "24M", "--cmdline", "alpha 'beta gamma'",
          "--name", "hello-sealed", "--disk", "scratch,rw,ephemeral=1M", "-o", again)
    check(open(again, "rb").read() == data, "sealing twice gives the same bytes")

    r = atoll("run", "-v", image, timeout=60)
    check(r.returncode == 0 and 'argv[1] = "alpha"' in r.stdout and "argv[2] = \"'beta\"" in r.stdout,
          "run: the manifest's command line reaches the guest" + ("" if r.returncode == 0 else r.stderr[-400:]))
    r = atoll("run", image, "--", "override", timeout=60)
    check(r.returncode == 0 and 'argv[1] = "override"' in r.stdout and "alpha" not in r.stdout,
          "run: arguments given override the manifest's")
    r = atoll("run", "-m", "1M", image, timeout=60)
    check(r.returncode == 125 and "archive" in r.stderr and "raise --memory" in r.stderr,
          "run: -m overrides the manifest's memory (too small here, and the archive is counted)")
    return image


def test_httpd_serves_archive(tmp):
    site = os.path.join(tmp, "www")
    os.makedirs(site)
    body = b"served from the sealed archive\n" * 100
    write(os.path.join(site, "index.html"), body)
    port = free_port()
    image = os.path.join(tmp, "httpd.img")
    r = atoll("seal", HTTPD, "--archive", site, "-p", f"{port}:80", "--memory", "16M", "-o", image)
    if not check(r.returncode == 0, "seal httpd with a site and a published port" + r.stderr):
        return
    p = subprocess.Popen([ATOLL, "run", image, "--", "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got = None
    try:
        for _ in range(100):
            try:
                got = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
    finally:
        p.terminate()
        p.communicate(timeout=20)
    check(got == body, "run: httpd serves the archive (boot module) on the manifest's published port")


def test_required_disk(tmp):
    image = os.path.join(tmp, "needs-disk.img")
    atoll("seal", HELLO, "--disk", "log,rw,required", "-o", image)
    r = atoll("run", "-v", image)
    check(r.returncode == 125 and "needs disk 1 `log` (read-write): give it with --disk PATH" in r.stderr
          and "dom1:" not in r.stderr, "run: a missing required disk is named with its flag, before any domain")
    # kvstore's case: the log disk is needed unless the log is turned off.
    unless = os.path.join(tmp, "needs-disk-unless.img")
    atoll("seal", HELLO, "--disk", "log,rw,required,unless,--aof,off", "-o", unless)
    r = atoll("run", unless)
    check(r.returncode == 125 and "give it with --disk PATH, or give the guest the arguments --aof off (after --)" in r.stderr,
          "run: a disk needed unless some arguments names both ways out: " + r.stderr)
    r = atoll("run", unless, "--", "--aof", "off")
    check(r.returncode == 0, "run: the arguments that make the disk unneeded boot it without one: " + r.stderr)


def test_tamper(tmp, image):
    data = open(image, "rb").read()
    msize, text = layout(data)
    j = json.loads(atoll("inspect", "--json", image).stdout)
    elf_off, ar_off = j["parts"]["elf"]["offset"], j["parts"]["archive"]["offset"]
    size = len(data)

    def flipped(at):
        b = bytearray(data)
        b[at] ^= 0x20
        return bytes(b)

    for n, cut in enumerate([1, 7, 100, HEADER + msize // 2, elf_off + 10, ar_off + 3, size - 50, size - 1]):
        refused_everywhere(write(os.path.join(tmp, f"cut{n}"), data[:cut]), "truncated", f"truncated to {cut} bytes")
    refused_everywhere(write(os.path.join(tmp, "flip-elf"), flipped(elf_off + 200)), "elf-changed", "a flipped byte in the ELF")
    refused_everywhere(write(os.path.join(tmp, "flip-ar"), flipped(ar_off + 600)), "archive-changed", "a flipped byte in the archive")
    refused_everywhere(write(os.path.join(tmp, "flip-man"), flipped(HEADER + 20)), "digest-mismatch", "a flipped byte in the manifest")
    refused_everywhere(write(os.path.join(tmp, "flip-dig"), flipped(size - TRAILER + 3)), "digest-mismatch", "a flipped byte in the digest")
    refused_everywhere(write(os.path.join(tmp, "empty"), b""), "empty", "an empty file")
    rnd = random.Random(14)
    refused_everywhere(write(os.path.join(tmp, "random"), bytes(rnd.randrange(256) for _ in range(8192))),
                       "not-an-image", "a random file")
    # Lies told by someone who recomputed the digest.
    lines = text.split("\n")
    elf_line = next(l for l in lines if l.startswith("elf "))
    _, off, sz, sha = elf_line.split(" ")
    lie = text.replace(elf_line, f"elf {off} {int(sz) + 4096} {sha}").encode()
    refused_everywhere(write(os.path.join(tmp, "lie-size"), reassemble(lie, parts_of(data))), "part-layout",
                       "a manifest lying about the ELF's size")
    ar_line = next(l for l in lines if l.startswith("archive "))
    _, aoff, asz, asha = ar_line.split(" ")
    lie = text.replace(ar_line, f"archive {int(aoff) - 1} {asz} {asha}").encode()
    refused_everywhere(write(os.path.join(tmp, "lie-off"), reassemble(lie, parts_of(data))), "part-layout",
                       "a manifest lying about the archive's offset")
    foreign = text.replace("xen-abi 0x00040e00", "xen-abi 0x00050000").encode()
    refused_everywhere(write(os.path.join(tmp, "abi"), reassemble(foreign, parts_of(data))), "unknown-abi",
                       "an image built for another Xen ABI")
    # The control: reassembling the true manifest gives a valid image.
    same = reassemble(text.encode(), parts_of(data))
    check(same == data, "the test's reassembly of the true manifest is the image itself")


def test_signing(tmp, image):
    keys = os.path.join(tmp, "keys")
    other = os.path.join(tmp, "other-keys")
    os.makedirs(keys)
    os.makedirs(other)
    r = atoll("keygen", "-o", os.path.join(keys, "release"))
    check(r.returncode == 0 and os.path.exists(os.path.join(keys, "release.pub")), "keygen writes a key pair")
    mode = stat.S_IMODE(os.stat(os.path.join(keys, "release.key")).st_mode)
    check(mode == 0o600, f"keygen: the secret key is mode 0600 ({oct(mode)})")
    r = atoll("keygen", "-o", os.path.join(keys, "release"))
    check(r.returncode == 1 and "not overwriting" in r.stderr, "keygen refuses to overwrite a key")
    atoll("keygen", "-o", os.path.join(other, "stranger"))
    secret = os.path.join(keys, "release.key")
    os.rename(secret, os.path.join(tmp, "release.key"))  # the trusted directory holds public keys only
    secret = os.path.join(tmp, "release.key")
    pub = open(os.path.join(keys, "release.pub")).read().split()[1]

    signed = shutil.copy(image, os.path.join(tmp, "signed.img"))
    unsigned = shutil.copy(image, os.path.join(tmp, "unsigned.img"))
    r = atoll("sign", "--key", secret, signed)
    check(r.returncode == 0, "sign" + r.stderr)
    j = json.loads(atoll("inspect", "--json", signed).stdout)
    check(j["signature"] == {"scheme": "ed25519", "public_key": pub, "verified": True}, "inspect: signed by our key")
    r = atoll("run", "--require-signed", "--trusted-keys", keys, signed, "--", "ok")
    check(r.returncode == 0 and 'argv[1] = "ok"' in r.stdout, "run --require-signed: a trusted signature boots" + r.stderr[-300:])
    r = atoll("run", "-v", "--require-signed", "--trusted-keys", keys, unsigned)
    check(r.returncode == 125 and "is not signed" in r.stderr and "dom1:" not in r.stderr, "run --require-signed: unsigned refused")
    r = atoll("run", "-v", "--trusted-keys", other, signed)
    check(r.returncode == 125 and "not among the trusted keys" in r.stderr and "dom1:" not in r.stderr,
          "run --trusted-keys: a key not trusted is refused")
    r = atoll("run", "--require-signed", "--trusted-keys", keys, HELLO)
    check(r.returncode == 125 and "bare ELF" in r.stderr, "run --require-signed: a bare ELF is refused")
    r = atoll("run", "--require-signed", signed)
    check(r.returncode == 125 and "--trusted-keys" in r.stderr, "run --require-signed without keys is a usage error")
    # A signature taken from another image: valid bytes, but over another digest.
    other_img = os.path.join(tmp, "other.img")
    atoll("seal", HELLO, "--name", "other", "-o", other_img)
    atoll("sign", "--key", secret, other_img)
    donor = open(other_img, "rb").read()
    victim = bytearray(open(unsigned, "rb").read())
    victim[-TRAILER + 32:] = donor[-TRAILER + 32:]
    refused_everywhere(write(os.path.join(tmp, "transplant"), bytes(victim)), "bad-signature",
                       "a signature over other bytes", extra_run=("--trusted-keys", keys))
    sig = bytearray(open(signed, "rb").read())
    sig[-20] ^= 1
    refused_everywhere(write(os.path.join(tmp, "flip-sig"), bytes(sig)), "bad-signature", "a flipped byte in the signature")
    r = atoll("sign", "--key", secret, os.path.join(tmp, "flip-elf"))
    check(r.returncode == 1 and "elf-changed" in r.stderr, "sign refuses a damaged image")


def main():
    global ATOLL, HELLO, HTTPD
    ATOLL, HELLO, HTTPD = sys.argv[1:4]
    with tempfile.TemporaryDirectory() as tmp:
        test_help()
        image = test_round_trip(tmp)
        test_httpd_serves_archive(tmp)
        test_required_disk(tmp)
        if image:
            test_tamper(tmp, image)
            test_signing(tmp, image)
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
