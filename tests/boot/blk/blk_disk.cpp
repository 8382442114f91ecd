// A guest on one virtual disk. "rw": writes a pseudo-random pattern over the
// whole disk, flushes, reads it back (aligned and unaligned buffers, and
// through a granted alloc_buffer()) and checks it; the runner then checks the file. "ro": reads the pattern the runner put
// in the file, and a write must fail with an error the app sees. "durable":
// writes and flushes the pattern, says so and waits to be killed (SIGKILL of
// the hypervisor); the runner then checks the file. "flushes": rewrites the
// disk a chunk at a time without end, each write stamped with its generation
// and acknowledged once flushed, until the hypervisor is killed at a random
// moment (bench/soak/durability.py, path blk-random, checks the file).
#include <stdlib.h>
#include <string.h>

#include "atoll/result.h"
#include "atoll/sched.h"
#include "blkfront.h"
#include "check.h"

using namespace atl;

namespace {

constexpr size_t kChunkSectors = 128;  // 64 KiB per call: several ring requests each

// The same pattern as run_blk_test.py: one 64-bit word per 8 bytes of disk.
uint64_t pattern(uint64_t word) {
  uint64_t x = (word + 1) * 0x9E3779B97F4A7C15ULL;
  return x ^ (x >> 29);
}

void fill(uint64_t* buf, uint64_t sector, size_t sectors) {
  for (size_t i = 0; i < sectors * 64; ++i) buf[i] = pattern(sector * 64 + i);
}

bool matches(const uint8_t* buf, uint64_t sector, size_t sectors) {
  for (size_t i = 0; i < sectors * 64; ++i) {
    uint64_t w;
    memcpy(&w, buf + i * 8, 8);
    if (w != pattern(sector * 64 + i)) return false;
  }
  return true;
}

bool verify_all(blk::BlkFront& d, uint8_t* buf, size_t offset) {
  for (uint64_t s = 0; s < d.sectors(); s += kChunkSectors) {
    auto r = d.read(s, buf + offset, kChunkSectors);
    if (!r.ok() || !matches(buf + offset, s, kChunkSectors)) {
      printf("mismatch or error at sector %llu\n", static_cast<unsigned long long>(s));
      return false;
    }
  }
  return true;
}

bool write_pattern(blk::BlkFront& d, uint8_t* buf) {
  bool ok = true;
  for (uint64_t s = 0; s < d.sectors() && ok; s += kChunkSectors) {
    fill(reinterpret_cast<uint64_t*>(buf), s, kChunkSectors);
    ok = d.write(s, buf, kChunkSectors).ok();
  }
  return ok;
}

[[noreturn]] void run_durable(blk::BlkFront& d, uint8_t* buf) {
  // Both of blkback's flush paths: plain writes then a bare flush (an
  // fdatasync after them), then, with nothing left unsynced, the last chunk
  // rewritten by write_flush() (one RWF_DSYNC write per ring request) and a
  // bare flush that has nothing to sync.
  uint64_t last = (d.sectors() - 1) / kChunkSectors * kChunkSectors;
  size_t last_sectors = d.sectors() - last;
  bool ok = write_pattern(d, buf) && d.flush().ok();
  memset(buf, 0, last_sectors * 512);
  ok = ok && d.write(last, buf, last_sectors).ok() && d.flush().ok();  // zeroes, synced
  fill(reinterpret_cast<uint64_t*>(buf), last, last_sectors);
  ok = ok && d.write_flush(last, buf, last_sectors).ok() && d.flush().ok();
  printf("blk_disk: %s\n", ok ? "flushed" : "FAILED to write and flush");
  fflush(stdout);
  for (;;) sched::sleep_ns(1000000000ULL);
}

// Generation G (from 1) rewrites chunk (G - 1) % chunks; each of its sectors
// holds G, the sector's number, then 62 copies of stamp(G, sector), so the
// runner can tell from any sector which write put it there. Odd generations
// are a write and a bare flush, even ones write_flush(); "blk_disk: flushed
// G" follows each once it returned. A never-written sector is zeroes.
uint64_t stamp(uint64_t gen, uint64_t sector) {
  uint64_t x = ((gen << 32 | sector) + 1) * 0x9E3779B97F4A7C15ULL;
  return x ^ (x >> 29);
}

[[noreturn]] void run_flushes(blk::BlkFront& d, uint8_t* buf) {
  uint64_t chunks = d.sectors() / kChunkSectors;
  for (uint64_t gen = 1;; ++gen) {
    uint64_t first = (gen - 1) % chunks * kChunkSectors;
    for (uint64_t i = 0; i < kChunkSectors; ++i) {
      auto* words = reinterpret_cast<uint64_t*>(buf + i * 512);
      words[0] = gen;
      words[1] = first + i;
      for (unsigned w = 2; w < 64; ++w) words[w] = stamp(gen, first + i);
    }
    bool ok = gen % 2 ? d.write(first, buf, kChunkSectors).ok() && d.flush().ok()
                      : d.write_flush(first, buf, kChunkSectors).ok();
    printf(ok ? "blk_disk: flushed %llu\n" : "blk_disk: FAILED to write and flush %llu\n",
           static_cast<unsigned long long>(gen));
    fflush(stdout);
    if (!ok) for (;;) sched::sleep_ns(1000000000ULL);
  }
}

// I/O through alloc_buffer() memory: its granted pages go on the ring
// themselves (several slots for 512 KiB), the pattern must survive both ways,
// and a buffer that does not start on a page falls back to the pool.
void run_zero_copy(blk::BlkFront& d) {
  constexpr size_t kSectors = 1024;  // 512 KiB: 128 pages, two indirect slots
  auto* zc = static_cast<uint8_t*>(d.alloc_buffer(kSectors * 512 + 4096));
  CHECK(zc != nullptr, "alloc_buffer(516 KiB)");
  if (!zc) return;
  uint64_t before = d.stats().zero_copy;
  bool ok = true;
  for (uint64_t s = 0; s < 4 * kSectors && ok; s += kSectors) {
    fill(reinterpret_cast<uint64_t*>(zc), s, kSectors);
    ok = d.write(s, zc, kSectors).ok();
  }
  CHECK(ok && d.flush().ok(), "rewrote 2 MiB of the pattern from a granted buffer");
  uint64_t writes = d.stats().zero_copy - before;
  CHECK(writes >= 8, "the writes went out without copies (%llu slots)", static_cast<unsigned long long>(writes));
  memset(zc, 0, kSectors * 512);
  ok = true;
  for (uint64_t s = 0; s < 4 * kSectors && ok; s += kSectors)
    ok = d.read(s, zc, kSectors).ok() && matches(zc, s, kSectors);
  CHECK(ok, "read back and verified into the granted buffer");
  uint64_t reads = d.stats().zero_copy - before - writes;
  CHECK(reads >= 8, "the reads came in without copies (%llu slots)", static_cast<unsigned long long>(reads));
  uint64_t mark = d.stats().zero_copy;
  memset(zc, 0, 4096);
  CHECK(d.read(8, zc + 512, 8).ok() && matches(zc + 512, 8, 8), "a read off a page boundary is bounced and right");
  CHECK(d.stats().zero_copy == mark, "... through the pool");
  fill(reinterpret_cast<uint64_t*>(zc), 16, 8);
  CHECK(d.write_flush(16, zc, 8).ok(), "write_flush from a granted buffer");
  memset(zc, 0, 4096);
  CHECK(d.read(16, zc, 8).ok() && matches(zc, 16, 8), "... reads back");
  d.free_buffer(zc);
}

void run_rw(blk::BlkFront& d, uint8_t* buf) {
  bool ok = true;
  for (uint64_t s = 0; s < d.sectors() && ok; s += kChunkSectors) {
    fill(reinterpret_cast<uint64_t*>(buf), s, kChunkSectors);
    ok = d.write(s, buf, kChunkSectors).ok();
  }
  CHECK(ok, "wrote the pattern over all %llu sectors", static_cast<unsigned long long>(d.sectors()));
  CHECK(d.flush().ok(), "flush");
  memset(buf, 0, kChunkSectors * 512 + 512);
  CHECK(verify_all(d, buf, 0), "read back and verified (page-aligned buffer)");
  CHECK(verify_all(d, buf, 1), "read back and verified (unaligned buffer, bounced)");
  CHECK(d.read(d.sectors() - 1, buf, 1).ok(), "the last sector reads");
  CHECK(d.read(d.sectors(), buf, 1).error() == Errno::kRange, "a read past the end is kRange");
  CHECK(d.read(d.sectors() - 1, buf, 2).error() == Errno::kRange, "a read across the end is kRange");
  run_zero_copy(d);
}

void run_ro(blk::BlkFront& d, uint8_t* buf) {
  CHECK(d.read_only(), "the backend says read-only");
  CHECK(d.read(0, buf, kChunkSectors).ok() && matches(buf, 0, kChunkSectors), "reads the runner's pattern");
  memset(buf, 0xEE, 512);
  auto w = d.write(0, buf, 1);
  CHECK(!w.ok() && w.error() == Errno::kIo, "a write is refused with kIo (got %d)", w.ok() ? 0 : to_int(w.error()));
  CHECK(d.read(0, buf, kChunkSectors).ok() && matches(buf, 0, kChunkSectors), "the data is unchanged");
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "rw";
  auto n = blk::probe();
  CHECK(n.ok() && *n == 1, "probe found one connected disk");
  blk::BlkFront* d = blk::device(0);
  if (!d || !d->connected()) return check_result("blk_disk");
  CHECK(d->sectors() == (16u << 20) / 512, "16 MiB disk (%llu sectors)", static_cast<unsigned long long>(d->sectors()));
  auto* buf = static_cast<uint8_t*>(aligned_alloc(4096, kChunkSectors * 512 + 4096));
  if (strcmp(mode, "durable") == 0) run_durable(*d, buf);
  if (strcmp(mode, "flushes") == 0) run_flushes(*d, buf);
  if (strcmp(mode, "ro") == 0) run_ro(*d, buf);
  else run_rw(*d, buf);
  free(buf);
  return check_result("blk_disk");
}
