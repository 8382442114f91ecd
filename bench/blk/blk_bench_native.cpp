// The native side of bench/blk: the same phases as blk_bench_guest.cpp on the
// same file, with io_uring at queue depth 1 (randread, seqread, seqwrite) and
// pwrite + fdatasync (flush). Buffered I/O, like blkback.
// usage: blk-bench-native FILE randread|seqread|seqwrite|flush
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: blk-bench-native FILE randread|seqread|seqwrite|flush\n");
    return 2;
  }
  const char* phase = argv[2];
  int fd = open(argv[1], O_RDWR);
  struct stat st;
  io_uring ring;
  if (fd < 0 || fstat(fd, &st) != 0 || io_uring_queue_init(8, &ring, 0) != 0) {
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
