// The guest side of bench/blk: one phase per boot (randread, seqread,
// seqwrite, flush) through blkfront/blkback on the disk given with --disk.
// Prints `phase=<name> value=<figure>`: IOPS, MB/s, or median ns.
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

}  // namespace

int main(int argc, char** argv) {
  const char* phase = argc > 1 ? argv[1] : "randread";
  auto n = blk::probe();
  blk::BlkFront* d = blk::device(0);
  if (!n.ok() || !d || !d->connected()) {
    printf("blk_bench: no disk\n");
    return 1;
  }
  auto* buf = static_cast<uint8_t*>(aligned_alloc(4096, kSeqBlock));
  memset(buf, 0x5A, kSeqBlock);
  uint64_t bytes = d->sectors() * 512;
  uint64_t t0 = time::monotonic_ns();
  bool ok = true;
  double value = 0;
  if (strcmp(phase, "randread") == 0) {
    for (uint64_t i = 0; i < kRandomReads && ok; ++i) ok = d->read(random_block(i, bytes / 4096) * 8, buf, 8).ok();
    value = kRandomReads * 1e9 / static_cast<double>(time::monotonic_ns() - t0);
  } else if (strcmp(phase, "seqread") == 0 || strcmp(phase, "seqwrite") == 0) {
    bool write = phase[3] == 'w';
    for (uint64_t off = 0; off < bytes && ok; off += kSeqBlock)
      ok = write ? d->write(off / 512, buf, kSeqBlock / 512).ok() : d->read(off / 512, buf, kSeqBlock / 512).ok();
    value = static_cast<double>(bytes) * 1e3 / static_cast<double>(time::monotonic_ns() - t0);  // MB/s
  } else {
    static uint64_t lat[kFlushRounds];
    for (uint64_t i = 0; i < kFlushRounds && ok; ++i) {
      uint64_t s = time::monotonic_ns();
      ok = d->write(i * 8, buf, 8).ok() && d->flush().ok();
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
  return 0;
}
