// What the guest and the native block benchmarks share: the phases, their
// sizes and the random offsets, so both sides do the same I/O on the same file.
#pragma once

#include <stdint.h>

namespace blkbench {

constexpr uint64_t kRandomReads = 4000;      // 4 KiB each, queue depth 1
constexpr uint64_t kRandomReadsQd = 16000;   // 4 KiB each, queue depth kQueueDepth
constexpr unsigned kQueueDepth = 32;
constexpr uint64_t kSeqBlock = 128 * 1024;   // sequential requests
constexpr uint64_t kFlushRounds = 200;       // 4 KiB write + flush

// The i-th random 4 KiB block of a file of `blocks` blocks (an LCG, same on both sides).
inline uint64_t random_block(uint64_t i, uint64_t blocks) {
  uint64_t x = (i + 1) * 6364136223846793005ULL + 1442695040888963407ULL;
  x ^= x >> 33;
  return x % blocks;
}

}  // namespace blkbench
