// The native side of bench/blk: the same phases as blk_bench_guest.cpp on the
// same file, with io_uring at queue depth 1 (randread, seqread, seqwrite), at
// queue depth 32 (randread32) and pwrite + fdatasync (flush, writeflush).
// Buffered I/O, like blkback.
// usage: blk-bench-native FILE randread|randread32|seqread|seqwrite|flush|writeflush
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../native/bench_util.h"
#include "blk_bench_common.h"

using namespace blkbench;

namespace {

bool uring_io(io_uring& ring, bool write, int fd, void* buf, unsigned len, off_t off) {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (write) io_uring_prep_write(sqe, fd, buf, len, off);
  else io_uring_prep_read(sqe, fd, buf, len, off);
  io_uring_submit(&ring);
  io_uring_cqe* cqe = nullptr;
  if (io_uring_wait_cqe(&ring, &cqe) != 0) return false;
  bool ok = cqe->res == static_cast<int>(len);
  io_uring_cqe_seen(&ring, cqe);
  return ok;
}

// 4 KiB random reads with kQueueDepth in flight; false on any error.
bool uring_randread_qd(io_uring& ring, int fd, uint8_t* bufs, uint64_t blocks) {
  uint64_t next = 0, done = 0;
  auto submit = [&](unsigned q) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    io_uring_prep_read(sqe, fd, bufs + q * 4096, 4096, static_cast<off_t>(random_block(next++, blocks) * 4096));
    io_uring_sqe_set_data64(sqe, q);
  };
  for (unsigned q = 0; q < kQueueDepth; ++q) submit(q);
  io_uring_submit(&ring);
  while (done < kRandomReadsQd) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&ring, &cqe) != 0 || cqe->res != 4096) return false;
    unsigned q = static_cast<unsigned>(io_uring_cqe_get_data64(cqe));
    io_uring_cqe_seen(&ring, cqe);
    ++done;
    if (next < kRandomReadsQd) {
      submit(q);
      io_uring_submit(&ring);
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 && !(argc == 4 && strcmp(argv[3], "direct") == 0)) {
    fprintf(stderr, "usage: blk-bench-native FILE randread|randread32|seqread|seqwrite|flush|writeflush [direct]\n");
    return 2;
  }
  const char* phase = argv[2];
  // `direct`: O_DIRECT, as `atoll run --disk FILE,direct` opens it (buffers are page-aligned).
  int fd = open(argv[1], O_RDWR | (argc == 4 ? O_DIRECT : 0));
  struct stat st;
  io_uring ring;
  if (fd < 0 || fstat(fd, &st) != 0 || io_uring_queue_init(2 * kQueueDepth, &ring, 0) != 0) {
    perror("blk-bench-native");
    return 1;
  }
  uint64_t bytes = static_cast<uint64_t>(st.st_size) / 512 * 512;
  void* buf = aligned_alloc(4096, kSeqBlock);
  memset(buf, 0x5A, kSeqBlock);
  long long t0 = monotonic_ns();
  bool ok = true;
  double value = 0;
  if (strcmp(phase, "randread") == 0) {
    for (uint64_t i = 0; i < kRandomReads && ok; ++i)
      ok = uring_io(ring, false, fd, buf, 4096, static_cast<off_t>(random_block(i, bytes / 4096) * 4096));
    value = kRandomReads * 1e9 / static_cast<double>(monotonic_ns() - t0);
  } else if (strcmp(phase, "randread32") == 0) {
    auto* bufs = static_cast<uint8_t*>(aligned_alloc(4096, kQueueDepth * 4096));
    ok = uring_randread_qd(ring, fd, bufs, bytes / 4096);
    value = kRandomReadsQd * 1e9 / static_cast<double>(monotonic_ns() - t0);
  } else if (strcmp(phase, "seqread") == 0 || strcmp(phase, "seqwrite") == 0) {
    bool write = phase[3] == 'w';
    for (uint64_t off = 0; off < bytes && ok; off += kSeqBlock)
      ok = uring_io(ring, write, fd, buf, kSeqBlock, static_cast<off_t>(off));
    value = static_cast<double>(bytes) * 1e3 / static_cast<double>(monotonic_ns() - t0);
  } else {
    static long long lat[kFlushRounds];
    for (uint64_t i = 0; i < kFlushRounds && ok; ++i) {
      long long s = monotonic_ns();
      ok = pwrite(fd, buf, 4096, static_cast<off_t>(i * 4096)) == 4096 && fdatasync(fd) == 0;
      lat[i] = monotonic_ns() - s;
    }
    qsort(lat, kFlushRounds, sizeof lat[0], compare_ll);
    value = static_cast<double>(lat[kFlushRounds / 2]);
  }
  if (!ok) {
    fprintf(stderr, "blk-bench-native: I/O error\n");
    return 1;
  }
  printf("phase=%s value=%.1f\n", phase, value);
  return 0;
}
