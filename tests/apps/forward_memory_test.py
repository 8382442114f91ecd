#!/usr/bin/env python3
"""The hypervisor's TCP forwards (the default path's -p) under clients that
do not read: 200 connections each ask httpd for a 6 MiB file with a 4 KiB
receive buffer and read nothing until all have asked. httpd sends, the
clients' kernels fill, and the hypervisor queues what the guest sends until
all connections together hold its bound (TcpSplice::kTotalCap, 64 MiB, plus
a 16 KiB floor each way per connection); past it the guest is offered no
more window. Then every client reads: each file must come back whole and in
order (nothing lost while the windows were closed; lwIP once sent its FIN
early here, subprojects/packagefiles/lwip-split-keeps-fin.patch), and the
hypervisor's peak resident memory must stay within the bound (without it
the same test took 162-210 MiB).

usage: forward_memory_test.py ATOLL HTTPD_IMAGE"""

import os
import resource
import selectors
import socket
import subprocess
import sys
import tempfile
import time

from appliance import Appliance, free_port, report

CONNECTIONS = 200
FILE_SIZE = 6 << 20
# kTotalCap (64 MiB) and 200 connections' floors (6 MiB), plus the
# allocator's slack: queues grow by doubling (old and new buffer at once
# while copying), the heap keeps what it frees (mallopt in main.cpp), and
# meson's MALLOC_PERTURB_ touches every page allocated. Measured 66-103 MiB
# with the bound; 162-216 MiB without it.
PEAK_GROWTH_LIMIT = 128 << 20


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def settled_peak(pid, quiet_s=2.0, limit_s=30.0):
    """The hypervisor's peak resident memory once it has stopped growing."""
    peak, still_since, deadline = vm_kib(pid, "VmHWM"), time.monotonic(), time.monotonic() + limit_s
    while time.monotonic() - still_since < quiet_s and time.monotonic() < deadline:
        time.sleep(0.25)
        now = vm_kib(pid, "VmHWM")
        if now != peak:
            peak, still_since = now, time.monotonic()
    return peak


def ask_unread(port):
    socks = []
    for _ in range(CONNECTIONS):
        s = socket.socket()
        # A small receive buffer: the answer backs up into the hypervisor
        # instead of into this kernel's socket buffers.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        s.setblocking(False)
        socks.append(s)
    return socks


def read_all(socks, deadline):
    got = [bytearray() for _ in socks]
    done = [None] * len(socks)  # how each ended
    sel = selectors.DefaultSelector()
    for i, s in enumerate(socks):
        sel.register(s, selectors.EVENT_READ, i)
    while not all(done) and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            i = key.data
            try:
                chunk = socks[i].recv(262144)
            except BlockingIOError:
                continue
            except ConnectionError as e:
                done[i] = f"ended by {type(e).__name__}"
                sel.unregister(socks[i])
                continue
            if chunk:
                got[i] += chunk
            else:
                done[i] = "ended by a FIN"
                sel.unregister(socks[i])
    sel.close()
    return got, done


def body_of(reply):
    head, _, body = bytes(reply).partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


def main():
    atoll, image = sys.argv[1], sys.argv[2]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, CONNECTIONS + 256)), hard))
    failures = []
    # A failure's console then shows what each side of the forwards waits for.
    os.environ.setdefault("ATOLL_TRACE_SPLICE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        data = os.urandom(FILE_SIZE)
        with open(os.path.join(root, "big.bin"), "wb") as f:
            f.write(data)
        disk = os.path.join(tmp, "site.tar")
        subprocess.run(["tar", "--format=ustar", "-cf", disk, "-C", root, "."], check=True)
        port = free_port()
        args = ["-m", "256M", "--disk", disk + ",ro", "-p", f"{port}:80"]
        with Appliance(atoll, image, args, guest_args=["--root", "/", "--quiet", "--idle-timeout", "300"], ready=r"httpd: serving") as app:
            pid = app.proc.pid
            base = vm_kib(pid, "VmHWM")
            started = time.monotonic()
            socks = ask_unread(port)
            asked = time.monotonic()
            held = settled_peak(pid)
            print(f"{CONNECTIONS} downloads of {FILE_SIZE >> 20} MiB not read: the hypervisor's peak resident "
                  f"memory grew by {(held - base) >> 10} MiB (from {base >> 10} to {held >> 10} MiB)")
            reading = time.monotonic()
            got, done = read_all(socks, reading + 120)
            print(f"asked in {asked - started:.1f} s, memory settled after {reading - asked:.1f} s, "
                  f"read in {time.monotonic() - reading:.1f} s")
            whole = 0
            for i, reply in enumerate(got):
                status, body = body_of(reply)
                if status.startswith(b"HTTP/1.1 200") and body == data:
                    whole += 1
                elif i - whole < 3:
                    print(f"download {i}: {status!r}, {len(body)} of {FILE_SIZE} bytes, "
                          f"{done[i] or 'still open'}")
            print(f"{whole} of {CONNECTIONS} downloads came back whole ({sum(1 for d in done if d)} connections ended)")
            # VmHWM is the high-water mark: the peak of the whole run, reading included.
            peak = vm_kib(pid, "VmHWM")
            growth = (peak - base) << 10
            print(f"the hypervisor's peak resident memory over the whole run grew by {growth >> 20} MiB")
            if growth > PEAK_GROWTH_LIMIT:
                failures.append(f"the hypervisor grew by {growth >> 20} MiB, more than {PEAK_GROWTH_LIMIT >> 20} MiB")
            if whole != CONNECTIONS:
                failures.append(f"{CONNECTIONS - whole} downloads did not come back whole")
            for s in socks:
                s.close()
            if not app.alive():
                failures.append("the appliance died")
            console = app.output()
    return report(failures, console)


if __name__ == "__main__":
    sys.exit(main())
