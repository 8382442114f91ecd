// How much memory an app has and uses: the guest's heap is one range below
// its pseudo-physical memory's top, grown by sbrk() under newlib's malloc.
// An app that must answer "out of memory" instead of failing (kvstore's
// maxmemory, httpd's connection budget) sizes itself from these figures.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct atoll_heap_info {
  size_t limit;   // bytes the heap can grow to (its whole range)
  size_t mapped;  // bytes taken from that range so far (the break's distance)
  size_t in_use;  // bytes in allocated chunks, malloc's overhead included
  size_t free;    // bytes free inside the mapped part (reusable without growing)
};

void atoll_heap_info(struct atoll_heap_info* info);

// Says on the console that the heap ran out (its figures and `request`), then
// crashes the domain with reason "out of memory": what operator new does on
// failure, for an app that replaces operator new (libc-glue/out_of_memory.cpp).
#ifdef __cplusplus
[[noreturn]]
#endif
void atoll_out_of_memory(size_t request);

// glibc's mallinfo2(), which newlib lacks. Use it, not mallinfo(): newlib's
// <malloc.h> declares size_t fields but its malloc fills a struct of ints, so
// mallinfo() through that header reads garbage past the fifth field.
struct mallinfo2 {
  size_t arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
struct mallinfo2 mallinfo2(void);

#ifdef __cplusplus
}
#endif
