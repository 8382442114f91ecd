// The heap's figures on Linux (native build): glibc's mallinfo2(). The heap
// can grow as far as the system lets it, so its limit is unknown (0), and
// maxmemory defaults to no limit, as in Redis.
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include "memory.h"

namespace kv::mem {

HeapFigures heap_figures() {
  struct mallinfo2 m = mallinfo2();
  HeapFigures h;
  h.mapped = m.arena + m.hblkhd;
  h.in_use = m.uordblks + m.hblkhd;
  h.free = m.fordblks;
  return h;
}

void out_of_memory(size_t request, uint64_t counted) {
  fprintf(stderr, "kvstore: out of memory allocating %zu bytes (%llu in use); exiting\n", request,
          static_cast<unsigned long long>(counted));
  abort();
}

}  // namespace kv::mem
