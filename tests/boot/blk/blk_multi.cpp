// Block device boot tests beyond one disk's pattern (run_blk_multi.py makes
// the disks and checks the files afterwards):
//   "discard": discards an aligned 1 MiB and an unaligned two sectors of a disk
//              the runner filled; they must read back as zeroes.
//   "two":     two disks at once, each written with its own pattern.
//   "big":     a 256 MiB disk written with a pseudo-random pattern and verified.
//   "reconnect": close() and reopen() the device mid-run; I/O works after
//              ("reconnect-1q": one queue, its ring two pages).
//   "async":   the async API: 96 requests submitted at once (more than the 64
//              in flight, merged while they wait), completion callbacks,
//              indirect 1 MiB writes from a misaligned buffer, write_flush;
//              on 4 queues of one-page rings, every queue carrying requests.
//   "async-1q": the same on one queue (the disk given with queues=1), whose
//              ring spans two pages (64 slots: ring-page-order 1).
#include <stdlib.h>
#include <string.h>

#include "atoll/result.h"
#include "atoll/time.h"
#include "blkfront.h"
#include "check.h"

using namespace atl;

namespace {

constexpr size_t kChunkSectors = 2048;  // 1 MiB per call
constexpr uint64_t kTimeoutNs = 5'000'000'000ULL;

// splitmix64 of the word's index and the disk's seed; run_blk_multi.py has the same.
uint64_t pattern(uint64_t word, uint64_t seed) {
  uint64_t z = word * 0x9E3779B97F4A7C15ULL + seed;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

void fill(uint64_t* buf, uint64_t sector, size_t sectors, uint64_t seed) {
  for (size_t i = 0; i < sectors * 64; ++i) buf[i] = pattern(sector * 64 + i, seed);
}

bool matches(const uint64_t* buf, uint64_t sector, size_t sectors, uint64_t seed) {
  for (size_t i = 0; i < sectors * 64; ++i)
    if (buf[i] != pattern(sector * 64 + i, seed)) return false;
  return true;
}


bool write_pattern(blk::BlkFront& d, uint64_t* buf, uint64_t seed, uint64_t from, uint64_t to) {
  for (uint64_t s = from; s < to; s += kChunkSectors) {
    size_t n = to - s < kChunkSectors ? to - s : kChunkSectors;
    fill(buf, s, n, seed);
    if (!d.write(s, buf, n).ok()) return false;
  }
  return true;
}

bool verify_pattern(blk::BlkFront& d, uint64_t* buf, uint64_t seed, uint64_t from, uint64_t to) {
  for (uint64_t s = from; s < to; s += kChunkSectors) {
    size_t n = to - s < kChunkSectors ? to - s : kChunkSectors;
    if (!d.read(s, buf, n).ok() || !matches(buf, s, n, seed)) {
      printf("mismatch or error at sector %llu\n", static_cast<unsigned long long>(s));
      return false;
    }
  }
  return true;
}

bool all_zero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return false;
  return true;
}

void run_discard(blk::BlkFront& d, uint64_t* buf) {
  CHECK(d.has_discard() && d.discard_granularity() == 4096, "feature-discard, granularity %u", d.discard_granularity());
  CHECK(d.read(2048, buf, 2048).ok() && !all_zero(reinterpret_cast<uint8_t*>(buf), 2048 * 512),
        "the runner's data is there before");
  CHECK(d.discard(2048, 2048).ok(), "discard sectors 2048..4095 (1 MiB, aligned)");
  CHECK(d.discard(8193, 2).ok(), "discard sectors 8193..8194 (unaligned)");
  CHECK(d.flush().ok(), "flush");
  CHECK(d.read(2048, buf, 2048).ok() && all_zero(reinterpret_cast<uint8_t*>(buf), 2048 * 512),
        "the aligned range reads back as zeroes");
  CHECK(d.read(8193, buf, 2).ok() && all_zero(reinterpret_cast<uint8_t*>(buf), 1024),
        "the unaligned range reads back as zeroes");
  CHECK(d.discard(d.sectors() - 8, 16).error() == Errno::kRange, "a discard across the end is kRange");
}

void run_two() {
  blk::BlkFront* disks[2] = {blk::device(0), blk::device(1)};
  CHECK(disks[0] && disks[1] && disks[0]->sectors() != disks[1]->sectors(), "two disks of different sizes");
  if (!disks[0] || !disks[1]) return;
  auto* buf = static_cast<uint64_t*>(aligned_alloc(4096, kChunkSectors * 512));
  // Interleaved, so both rings are in use in the same stretch of time.
  // Both are at least 8192 sectors (4 MiB); each disk's seed is its size.
  for (uint64_t s = 0; s < 8192; s += kChunkSectors)
    for (blk::BlkFront* d : disks)
      CHECK(write_pattern(*d, buf, d->sectors(), s, s + kChunkSectors), "%s: write at %llu", d->path().c_str(),
            static_cast<unsigned long long>(s));
  for (blk::BlkFront* d : disks) {
    CHECK(write_pattern(*d, buf, d->sectors(), 8192, d->sectors()), "%s: written", d->path().c_str());
    CHECK(d->flush().ok(), "%s: flush", d->path().c_str());
  }
  for (blk::BlkFront* d : disks)
    CHECK(verify_pattern(*d, buf, d->sectors(), 0, d->sectors()), "%s: read back and verified", d->path().c_str());
  free(buf);
}

void run_big(blk::BlkFront& d, uint64_t* buf) {
  CHECK(d.sectors() == (256u << 20) / 512, "256 MiB disk");
  uint64_t t0 = time::monotonic_ns();
  CHECK(write_pattern(d, buf, 1, 0, d.sectors()) && d.flush().ok(), "wrote and flushed the pattern");
  uint64_t t1 = time::monotonic_ns();
  CHECK(verify_pattern(d, buf, 1, 0, d.sectors()), "read back and verified");
  uint64_t t2 = time::monotonic_ns();
  printf("write %llu ms, read %llu ms\n", static_cast<unsigned long long>((t1 - t0) / 1000000),
         static_cast<unsigned long long>((t2 - t1) / 1000000));
}

void run_reconnect(blk::BlkFront& d, uint64_t* buf) {
  uint64_t part = d.sectors() / 4;
  for (unsigned round = 0; round < 3; ++round) {
    uint64_t from = round * part;
    CHECK(write_pattern(d, buf, 7, from, from + part) && d.flush().ok(), "round %u: wrote a quarter", round);
    CHECK(d.close(time::monotonic_ns() + kTimeoutNs).ok() && !d.connected(), "round %u: closed", round);
    CHECK(d.read(0, buf, 8).error() == Errno::kNoDev, "round %u: I/O while closed is kNoDev", round);
    CHECK(d.reopen(time::monotonic_ns() + kTimeoutNs).ok() && d.connected(), "round %u: reopened", round);
    CHECK(verify_pattern(d, buf, 7, 0, from + part), "round %u: everything written so far reads back", round);
  }
  CHECK(write_pattern(d, buf, 7, 3 * part, d.sectors()) && d.flush().ok(), "wrote the last quarter after reconnecting");
}

struct Counter {
  unsigned done = 0;
  unsigned failed = 0;
};

void count_completion(blk::Request& r) {
  auto* c = static_cast<Counter*>(r.context);
  ++c->done;
  if (!r.result().ok()) ++c->failed;
}

void run_async(blk::BlkFront& d, uint64_t* buf, unsigned queues) {
  constexpr unsigned kRequests = 96;  // 4 KiB each: sectors 0..767
  // One queue: a two-page ring holds the 64 in flight; four: one page each.
  uint32_t ring = queues == 1 ? 64 : 32;
  CHECK(d.queues() == queues && d.ring_size() == ring, "%u queue(s) of %u-slot rings", d.queues(), d.ring_size());
  CHECK(d.has_persistent() && d.max_segments() == blk::BlkFront::kMaxIndirectSegments,
        "feature-persistent, %u segments per request", d.max_segments());
  static blk::Request reqs[kRequests];
  auto* pages = static_cast<uint64_t*>(aligned_alloc(4096, kRequests * 4096));
  fill(pages, 0, kRequests * 8, 9);
  auto before = d.stats();
  bool submitted = true;
  for (unsigned i = 0; i < kRequests; ++i) {
    reqs[i] = blk::Request{};
    reqs[i].op = blk::Op::kWrite;
    reqs[i].sector = i * 8;
    reqs[i].buf = pages + i * 512;
    reqs[i].sectors = 8;
    submitted = submitted && d.submit(reqs[i]).ok();
  }
  CHECK(submitted, "%u writes submitted at once", kRequests);
  bool ok = true;
  for (auto& r : reqs) ok = ok && d.wait(r).ok();
  CHECK(ok, "every write completed");
  CHECK(d.stats().merged > before.merged, "adjacent waiting writes were merged (%llu merged, %llu slots)",
        static_cast<unsigned long long>(d.stats().merged - before.merged),
        static_cast<unsigned long long>(d.stats().slots - before.slots));
  unsigned used = 0;
  for (unsigned q = 0; q < blk::BlkFront::kMaxQueues; ++q) used += d.stats().per_queue[q] > before.per_queue[q];
  auto per_queue = [&](unsigned q) { return static_cast<unsigned long long>(d.stats().per_queue[q]); };
  CHECK(used == queues, "requests went out on %u queue(s) (%llu %llu %llu %llu)", used, per_queue(0), per_queue(1),
        per_queue(2), per_queue(3));

  // The rest of the disk from a buffer one byte off alignment, 1 MiB a call.
  auto* spare = static_cast<uint8_t*>(aligned_alloc(4096, kChunkSectors * 512 + 4096));
  uint8_t* odd = spare + 1;
  bool written = true;
  uint64_t end = d.sectors() - kChunkSectors;
  for (uint64_t s = kRequests * 8; s < end && written; s += kChunkSectors) {
    size_t n = end - s < kChunkSectors ? end - s : kChunkSectors;
    // fill() wants 8-byte alignment: build the pattern aside, then copy.
    for (size_t k = 0; k < n; k += 8) {
      fill(pages, s + k, 8, 9);
      memcpy(odd + k * 512, pages, 4096);
    }
    written = d.write(s, odd, n).ok();
  }
  free(spare);
  CHECK(written && d.stats().indirect > before.indirect, "misaligned 1 MiB writes, as indirect requests (%llu)",
        static_cast<unsigned long long>(d.stats().indirect - before.indirect));
  fill(buf, end, kChunkSectors, 9);
  CHECK(d.write_flush(end, buf, kChunkSectors).ok(), "the last 1 MiB with write_flush");

  // Read everything back: 96 reads in flight with callbacks, then the rest.
  memset(pages, 0, kRequests * 4096);
  Counter counter;
  for (unsigned i = 0; i < kRequests; ++i) {
    reqs[i].op = blk::Op::kRead;
    reqs[i].on_complete = count_completion;
    reqs[i].context = &counter;
    (void)d.submit(reqs[i]);
  }
  for (auto& r : reqs) (void)d.wait(r);
  CHECK(counter.done == kRequests && counter.failed == 0, "%u read callbacks ran, %u failed", counter.done,
        counter.failed);
  CHECK(matches(pages, 0, kRequests * 8, 9), "the async reads hold the pattern");
  CHECK(verify_pattern(d, buf, 9, kRequests * 8, d.sectors()), "the rest reads back");
  blk::Request past;
  past.op = blk::Op::kRead;
  past.sector = d.sectors() - 1;
  past.buf = buf;
  past.sectors = 2;
  CHECK(d.submit(past).error() == Errno::kRange, "a request across the end is refused at submit()");
  free(pages);
}

}  // namespace

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "discard";
  bool two = strcmp(mode, "two") == 0;
  auto n = blk::probe();
  CHECK(n.ok() && *n == (two ? 2u : 1u), "probe found %u connected disk(s)", n.ok() ? *n : 0);
  blk::BlkFront* d = blk::device(0);
  if (!d || !d->connected()) return check_result("blk_multi");
  auto* buf = static_cast<uint64_t*>(aligned_alloc(4096, kChunkSectors * 512));
  if (two) run_two();
  else if (strcmp(mode, "big") == 0) run_big(*d, buf);
  else if (strncmp(mode, "reconnect", 9) == 0) run_reconnect(*d, buf);
  else if (strcmp(mode, "async") == 0) run_async(*d, buf, 4);
  else if (strcmp(mode, "async-1q") == 0) run_async(*d, buf, 1);
  else run_discard(*d, buf);
  free(buf);
  return check_result("blk_multi");
}
