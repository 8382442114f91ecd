#!/usr/bin/env python3
"""Durability soak: acknowledged writes, then SIGKILL, then count what is lost.

    durability.py --atoll A --blk-image BLK_DISK --kvstore-image KVSTORE \\
        [--trials N] [--paths blk,blk-random,kv-always,kv-everysec] [--assert-durable]

Each trial kills the hypervisor process (`atoll run`) with SIGKILL; the guest
process dies with it (PR_SET_PDEATHSIG). That is the closer model of a host
crash: blkback and the port forwards live in the hypervisor, so killing it
drops every request it holds in memory, submitted or not, at the same
instant as the guest. Killing only the guest would leave the backend running
to finish what the guest had queued, which no crash does. What a SIGKILL
cannot show is the kernel's page cache lost with the power: data written but
not fdatasync'd survives a process kill. So these trials check the order of
acknowledgements (nothing acknowledged before the backend has handed it to
the kernel), not the fsync itself (docs/block.md says which calls sync).

Paths:
  blk          blk_disk writes a 16 MiB pattern over a zeroed disk, flushes
               and prints "blk_disk: flushed"; atoll is killed as that line
               arrives; every byte of the pattern must be in the file
               (tests/boot/blk/run_blk_test.py's durable mode, N times).
  blk-random   blk_disk rewrites the disk a 64 KiB chunk at a time without
               end, each write stamped with its generation in every sector
               and acknowledged ("blk_disk: flushed G") once flushed, odd
               generations by a write and a bare flush, even ones by a
               write with FUA; atoll is killed at a random moment (0.05-1.5 s
               after the first acknowledgement); every sector must hold the
               last acknowledged generation of its chunk or a newer one (a
               write in flight at the kill may leave its chunk torn between
               the two, nothing older).
  kv-always    kvstore --appendfsync always on a fresh disk; a client sends
               pipelined SETs and records each one answered +OK; atoll is
               killed at a random moment (0.05-1.5 s into the writes); the
               appliance boots again on the same disk and every acknowledged
               key must read back with its value.
  kv-everysec  the same with --appendfsync everysec: up to a second's worth
               may be lost; the lost ones are counted, with the age of the
               oldest lost acknowledgement at the kill.

Prints one line per path: trials, acknowledged writes, lost. With
--assert-durable (the meson test `soak-durability`) exits 1 when blk,
blk-random or kv-always lost anything or a trial failed to run.
"""
import argparse
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "apps"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "boot", "blk"))
from appliance import free_port, kvstore_behind, new_disk  # noqa: E402
from kvstore_test import Resp, encode  # noqa: E402
from run_blk_test import SIZE, pattern_bytes  # noqa: E402

KV_DISK = 64 << 20
BATCH = 8  # SETs in flight per round trip


class Tally:
    def __init__(self, path):
        self.path = path
        self.trials = 0
        self.acked = 0
        self.lost = 0
        self.worst_trial = 0
        self.oldest_lost_age = 0.0
        self.errors = []

    def line(self):
        s = f"{self.path}: {self.trials} trials, {self.acked} acknowledged writes, {self.lost} lost"
        if self.lost:
            s += f" (at most {self.worst_trial} in one trial; oldest lost acknowledged {self.oldest_lost_age:.2f} s" \
                 " before the kill)"
        if self.errors:
            s += f"; {len(self.errors)} trials did not run to the end"
        return s


# ------------------------------------------------------------------ blkback

_pattern = None


def blk_trial(atoll, image, tally, tmp):
    """One flush+SIGKILL of blk_disk; the file is compared with the pattern."""
    global _pattern
    if _pattern is None:
        _pattern = pattern_bytes()
    disk = os.path.join(tmp, "blk.img")
    new_disk(disk, SIZE)
    p = subprocess.Popen([atoll, "run", "--disk", disk, image, "--", "durable"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    flushed = False
    for line in p.stdout:
        if "blk_disk: flushed" in line:
            os.kill(p.pid, signal.SIGKILL)
            flushed = True
            break
        if "FAILED" in line:
            break
    if not flushed:
        p.kill()
    p.wait()
    p.stdout.close()
    tally.trials += 1
    if not flushed:
        tally.errors.append(f"trial {tally.trials}: no flush marker (atoll exited {p.returncode})")
        return
    tally.acked += 1  # one acknowledged flush covering the whole pattern
    with open(disk, "rb") as f:
        content = f.read()
    if content != _pattern:
        tally.lost += 1
        tally.worst_trial = 1
        first = next((i for i in range(min(len(content), SIZE)) if content[i] != _pattern[i]), len(content))
        tally.errors.append(f"trial {tally.trials}: flushed pattern not in the file (first difference at {first})")


SECTOR = 512
CHUNK_SECTORS = 128  # blk_disk's kChunkSectors
IN_FLIGHT = 8  # generations past the last acknowledgement seen that may be under way


def _stamp(gen, sector):
    x = (((gen << 32) | sector) + 1) * 0x9E3779B97F4A7C15 & (1 << 64) - 1
    return x ^ (x >> 29)


def _sector(gen, sector):
    """What blk_disk's run_flushes() writes into `sector` at generation `gen`."""
    if gen == 0:
        return bytes(SECTOR)
    return struct.pack("<QQ", gen, sector) + struct.pack("<Q", _stamp(gen, sector)) * 62


def blk_random_trial(atoll, image, tally, tmp, rng):
    """blk_disk's chunks rewritten and flushed until a SIGKILL at a random
    moment; each sector must hold its chunk's last acknowledged generation or
    a newer one."""
    disk = os.path.join(tmp, "blk.img")
    if os.path.exists(disk):
        os.unlink(disk)
    new_disk(disk, SIZE)
    chunks = SIZE // SECTOR // CHUNK_SECTORS
    p = subprocess.Popen([atoll, "run", "--disk", disk, image, "--", "flushes"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    timer = None
    acked = []
    failed = None
    # Lines the hypervisor wrote before the kill are still in the pipe: read to the end.
    for line in p.stdout:
        if line.startswith("blk_disk: flushed "):
            acked.append(int(line.split()[2]))
            if timer is None:
                timer = threading.Timer(rng.uniform(0.05, 1.5), lambda: os.kill(p.pid, signal.SIGKILL))
                timer.start()
        elif "FAILED" in line:
            failed = line.strip()
            p.kill()
    if timer:
        timer.join()
    else:
        p.kill()
    p.wait()
    p.stdout.close()
    tally.trials += 1
    if failed or not acked or acked != list(range(1, len(acked) + 1)):
        tally.errors.append(f"trial {tally.trials}: {failed or 'no acknowledgement, or out of order'}"
                            f" (atoll exited {p.returncode}, {len(acked)} acknowledged)")
        return
    last = acked[-1]
    tally.acked += last
    # The last acknowledged generation of each chunk, 0 where none was.
    want = [0] * chunks
    for gen in range(max(1, last - chunks + 1), last + 1):
        want[(gen - 1) % chunks] = gen
    under_way = {(gen - 1) % chunks for gen in range(last + 1, last + 1 + IN_FLIGHT)}
    lost = 0
    with open(disk, "rb") as f:
        content = f.read()
    for c in range(chunks):
        intact = True
        for i in range(CHUNK_SECTORS):
            s = c * CHUNK_SECTORS + i
            data = content[s * SECTOR:(s + 1) * SECTOR]
            gen = struct.unpack_from("<Q", data)[0]
            valid = data == _sector(gen, s) and (gen == 0 or (gen - 1) % chunks == c)
            if valid and gen >= want[c] and gen <= last + IN_FLIGHT:
                continue
            if not valid and c in under_way:
                continue  # torn by the write in flight: between the old and the new
            intact = False
        if not intact:
            lost += 1
            tally.errors.append(f"trial {tally.trials}: chunk {c} does not hold generation {want[c]} or newer")
    tally.lost += lost
    tally.worst_trial = max(tally.worst_trial, lost)


# ------------------------------------------------------------------ kvstore

def kv_boot(atoll, image, disk, policy):
    port = free_port()
    return kvstore_behind(atoll, image, port, disk, guest_args=["--appendfsync", policy], timeout=60), port


def kv_write_until_killed(app, port, trial, rng):
    """Pipelined SETs until the connection dies; a timer SIGKILLs atoll at a
    random moment. Returns ({key: value} acknowledged, {key: ack time}, kill time)."""
    conn = Resp("127.0.0.1", port, timeout=30)
    acked, when = {}, {}
    killed_at = []

    def kill():
        killed_at.append(time.monotonic())
        os.kill(app.proc.pid, signal.SIGKILL)

    timer = threading.Timer(rng.uniform(0.05, 1.5), kill)
    timer.start()
    i = 0
    try:
        while True:
            batch = [(f"soak:{trial}:{i + k}", f"v{trial}.{i + k}") for k in range(BATCH)]
            conn.send(b"".join(encode("SET", k, v) for k, v in batch))
            for k, v in batch:
                reply, _ = conn.reply()
                if reply != "OK":
                    raise RuntimeError(f"SET {k} answered {reply!r}")
                acked[k] = v
                when[k] = time.monotonic()
            i += BATCH
    except (EOFError, OSError):
        pass  # the hypervisor is gone: the forward's socket closed or reset
    finally:
        timer.join()
        conn.close()
    app.proc.wait()
    return acked, when, killed_at[0]


def kv_read_back(port, acked):
    """The acknowledged keys whose value did not come back."""
    conn = Resp("127.0.0.1", port, timeout=30)
    keys = list(acked)
    missing = []
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        values = conn.call("MGET", *chunk)
        missing += [k for k, v in zip(chunk, values) if v != acked[k].encode()]
    conn.close()
    return missing


def kv_trial(atoll, image, policy, tally, tmp, rng):
    disk = os.path.join(tmp, "kv.img")
    if os.path.exists(disk):
        os.unlink(disk)
    new_disk(disk, KV_DISK)
    tally.trials += 1
    try:
        app, port = kv_boot(atoll, image, disk, policy)
        with app:
            acked, when, killed_at = kv_write_until_killed(app, port, tally.trials, rng)
        app, port = kv_boot(atoll, image, disk, policy)
        with app:
            missing = kv_read_back(port, acked)
    except (RuntimeError, OSError, EOFError) as e:
        tally.errors.append(f"trial {tally.trials}: {e}"[:2000])
        return
    tally.acked += len(acked)
    tally.lost += len(missing)
    tally.worst_trial = max(tally.worst_trial, len(missing))
    if missing:
        tally.oldest_lost_age = max(tally.oldest_lost_age, max(killed_at - when[k] for k in missing))


# ------------------------------------------------------------------ driver

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--atoll", required=True)
    ap.add_argument("--blk-image", required=True)
    ap.add_argument("--kvstore-image", required=True)
    ap.add_argument("--trials", type=int, default=1000)
    ap.add_argument("--paths", default="blk,blk-random,kv-always,kv-everysec")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--assert-durable", action="store_true")
    ap.add_argument("--progress", type=int, default=0, help="print the tallies every N trials")
    a = ap.parse_args()
    paths = a.paths.split(",")
    if any(p.startswith("kv-") for p in paths) and not os.path.exists(a.kvstore_image):
        print("SKIP: no kvstore image")
        return 77
    seed = a.seed if a.seed is not None else random.randrange(1 << 32)
    print(f"seed {seed}")
    rng = random.Random(seed)
    tallies = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            tally = Tally(path)
            tallies.append(tally)
            start = time.monotonic()
            for n in range(a.trials):
                if path == "blk":
                    blk_trial(a.atoll, a.blk_image, tally, tmp)
                elif path == "blk-random":
                    blk_random_trial(a.atoll, a.blk_image, tally, tmp, rng)
                else:
                    kv_trial(a.atoll, a.kvstore_image, path[3:], tally, tmp, rng)
                if a.progress and (n + 1) % a.progress == 0:
                    print("  " + tally.line(), flush=True)
            print(tally.line() + f" [{time.monotonic() - start:.0f} s]", flush=True)
            for e in tally.errors[:10]:
                print("    " + e)
    if not a.assert_durable:
        return 0
    bad = [t for t in tallies if t.path in ("blk", "blk-random", "kv-always") and (t.lost or t.errors)]
    for t in bad:
        print(f"FAILED {t.path}: {t.lost} acknowledged writes lost, {len(t.errors)} trials did not run")
    print("PASS" if not bad else "FAIL")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
