// The guest side of bench/blk: one phase per boot (randread, randread32,
// seqread, seqwrite, flush, writeflush) through blkfront/blkback on the disk
// given with --disk. randread32 keeps 32 requests in flight with the async
// API (completion callbacks resubmit); flush is write() then flush(), writeflush one write_flush() (a
// FLUSH_DISKCACHE carrying the data). Buffers come from alloc_buffer() (no
// copies, like the host's O_DIRECT buffers), or with a second argument `copy`
// from the heap (copied through blkfront's persistent grants). Prints
// `phase=<name> value=<figure>`: IOPS, MB/s, or median ns.
#include <stdlib.h>
#include <string.h>

#include "atoll/time.h"
#include "blk_bench_common.h"
#include "blkfront.h"

using namespace atl;
using namespace blkbench;

namespace {

int compare_u64(const void* a, const void* b) {
  uint64_t x = *static_cast<const uint64_t*>(a), y = *static_cast<const uint64_t*>(b);
  return (x > y) - (x < y);
}

struct QdState {
  blk::BlkFront* d;
  uint64_t next;
  uint64_t done;
  uint64_t blocks;
  bool failed;
};

void resubmit(blk::Request& r) {
  auto* st = static_cast<QdState*>(r.context);
  ++st->done;
  if (!r.result().ok()) st->failed = true;
  if (st->failed || st->next >= kRandomReadsQd) return;
  r.sector = random_block(st->next++, st->blocks) * 8;
  if (!st->d->submit(r).ok()) st->failed = true;
}

}  // namespace

int main(int argc, char** argv) {
  const char* phase = argc > 1 ? argv[1] : "randread";
  auto n = blk::probe();
  blk::BlkFront* d = blk::device(0);
  if (!n.ok() || !d || !d->connected()) {
    printf("blk_bench: no disk\n");
    return 1;
  }
  bool copy = argc > 2 && strcmp(argv[2], "copy") == 0;
  auto io_memory = [&](size_t bytes) {
    return static_cast<uint8_t*>(copy ? aligned_alloc(4096, bytes) : d->alloc_buffer(bytes));
  };
  auto* buf = io_memory(kSeqBlock);
  if (!buf) {
    printf("blk_bench: no I/O buffer\n");
    return 1;
  }
  memset(buf, 0x5A, kSeqBlock);
  uint64_t bytes = d->sectors() * 512;
  uint64_t t0 = time::monotonic_ns();
  bool ok = true;
  double value = 0;
  if (strcmp(phase, "randread") == 0) {
    for (uint64_t i = 0; i < kRandomReads && ok; ++i) ok = d->read(random_block(i, bytes / 4096) * 8, buf, 8).ok();
    value = kRandomReads * 1e9 / static_cast<double>(time::monotonic_ns() - t0);
  } else if (strcmp(phase, "randread32") == 0) {
    // 32 requests in flight: each completion callback resubmits its request
    // with the next block, and blkfront sends a batch of them in one push.
    static blk::Request reqs[kQueueDepth];
    static QdState st;
    st = QdState{d, 0, 0, bytes / 4096, false};
    auto* bufs = io_memory(kQueueDepth * 4096);
    for (unsigned q = 0; q < kQueueDepth && ok; ++q) {
      reqs[q].op = blk::Op::kRead;
      reqs[q].sector = random_block(st.next++, st.blocks) * 8;
      reqs[q].buf = bufs + q * 4096;
      reqs[q].sectors = 8;
      reqs[q].on_complete = resubmit;
      reqs[q].context = &st;
      ok = d->submit(reqs[q]).ok();
    }
    // Each request ends with its last completion (not resubmitted).
    for (auto& r : reqs) (void)d->wait(r);
    ok = ok && !st.failed && st.done == kRandomReadsQd;
    value = kRandomReadsQd * 1e9 / static_cast<double>(time::monotonic_ns() - t0);
  } else if (strcmp(phase, "seqread") == 0 || strcmp(phase, "seqwrite") == 0) {
    bool write = phase[3] == 'w';
    for (uint64_t off = 0; off < bytes && ok; off += kSeqBlock)
      ok = write ? d->write(off / 512, buf, kSeqBlock / 512).ok() : d->read(off / 512, buf, kSeqBlock / 512).ok();
    value = static_cast<double>(bytes) * 1e3 / static_cast<double>(time::monotonic_ns() - t0);  // MB/s
  } else {
    static uint64_t lat[kFlushRounds];
    for (uint64_t i = 0; i < kFlushRounds && ok; ++i) {
      uint64_t s = time::monotonic_ns();
      ok = strcmp(phase, "writeflush") == 0 ? d->write_flush(i * 8, buf, 8).ok()
                                            : d->write(i * 8, buf, 8).ok() && d->flush().ok();
      lat[i] = time::monotonic_ns() - s;
    }
    qsort(lat, kFlushRounds, sizeof lat[0], compare_u64);
    value = static_cast<double>(lat[kFlushRounds / 2]);
  }
  if (!ok) {
    printf("blk_bench: I/O error\n");
    return 1;
  }
  printf("phase=%s value=%.1f\n", phase, value);
  // What the data path cost, for bench/RESULTS.md: notifications (hypercalls)
  // to the backend, waits that slept, slots that needed no copy.
  const auto& s = d->stats();
  printf("blk_bench: slots=%llu notifications=%llu sleeps=%llu zero_copy=%llu\n",
         static_cast<unsigned long long>(s.slots), static_cast<unsigned long long>(s.notifications),
         static_cast<unsigned long long>(s.sleeps), static_cast<unsigned long long>(s.zero_copy));
  return 0;
}
