// The heap's figures in the Atoll guest: one range below the top of the
// pseudo-physical memory, grown by sbrk() under newlib's malloc
// (atoll/memory.h). Its limit is what maxmemory's default is cut from.
#include <atoll/memory.h>
#include <stdio.h>

#include "memory.h"

namespace kv::mem {

HeapFigures heap_figures() {
  struct atoll_heap_info info;
  atoll_heap_info(&info);
  HeapFigures h;
  h.limit = info.limit;
  h.mapped = info.mapped;
  h.in_use = info.in_use;
  h.free = info.free;
  return h;
}

void out_of_memory(size_t request, uint64_t counted) {
  fprintf(stderr, "kvstore: out of memory with %llu bytes counted in use\n", static_cast<unsigned long long>(counted));
  atoll_out_of_memory(request);
}

}  // namespace kv::mem
