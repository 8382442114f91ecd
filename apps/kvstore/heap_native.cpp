// The heap's figures on Linux (native build): glibc's mallinfo2(). The heap
// can grow as far as the system lets it, so its limit is unknown (0), and
// maxmemory defaults to no limit, as in Redis.
#include <malloc.h>

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

}  // namespace kv::mem
