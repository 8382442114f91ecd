// How much memory the server uses, counted the way Redis's zmalloc does: every
// allocation through operator new adds the allocator's usable size of the
// block, every delete takes it off. The count is one global integer, so the
// maxmemory check can run before every command (newlib's mallinfo() walks the
// free bins: far too slow for that). The heap's own figures (HeapFigures)
// serve the default limit and INFO; they come from heap_guest.cpp or
// heap_native.cpp.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <optional>
#include <string_view>

namespace kv::mem {

// Bytes in live blocks allocated by operator new (usable sizes).
uint64_t used();
// The highest used() so far.
uint64_t peak();

struct HeapFigures {
  uint64_t limit = 0;   // bytes the heap can grow to; 0: unknown (native)
  uint64_t mapped = 0;  // taken from the system so far
  uint64_t in_use = 0;  // in allocated blocks, the allocator's overhead included
  uint64_t free = 0;    // free inside the mapped part
};
HeapFigures heap_figures();
// Ends the program on a failed allocation of `request` bytes with `counted`
// bytes in use, saying so (in the guest: the libOS's report and a crash whose
// reason is out of memory).
[[noreturn]] void out_of_memory(size_t request, uint64_t counted);

// The maxmemory a server gets when none is set: 40% of the heap still free
// once it has started, its log's device and write buffers included, or 0
// (no limit) when the heap's size is unknown. The rest absorbs the
// allocator's per-block overhead and fragmentation, the log's other buffers
// (the pending batch, at most twice Aof::kSpillBytes; a compaction's
// snapshot chunk), the key table's doubling and client buffers, which may
// pass the limit between checks. Measured at -m 16M: a 13.24 MiB heap, the
// device's 2 x 424 KiB, maxmemory 4.88 MiB; a million pipelined SETs under
// allkeys-lru with the log on peak at 6.6 MiB counted and 10.0 MiB of heap.
uint64_t default_maxmemory(const HeapFigures& heap);

// The most one client may hold in its input or its output buffer (Redis's
// client-query-buffer-limit and client-output-buffer-limit): a quarter of
// maxmemory, at least 256 KiB; 1 GiB without a limit.
uint64_t client_buffer_limit(uint64_t maxmemory);

// Redis's memory units: plain bytes, k/m/g (powers of 1000) and kb/mb/gb
// (powers of 1024), in any letter case.
std::optional<uint64_t> parse_memory(std::string_view s);

}  // namespace kv::mem
