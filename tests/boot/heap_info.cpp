// atoll_heap_info() and mallinfo2() (atoll/memory.h) against what this image
// does with its heap: the limit is guest memory less the image, in_use follows
// allocations, and a nothrow new beyond the heap answers nullptr instead of
// crashing. argv[1] is the guest memory in MiB (the test runs with -m).
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <new>

#include "atoll/memory.h"
#include "check.h"

extern "C" char __image_start[];
extern "C" char _end[];

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const size_t memory = strtoul(argv[1], nullptr, 10) << 20;
  const size_t image = static_cast<size_t>(_end - __image_start);
  const size_t kImageOffset = 1 << 20;  // images are linked 1 MiB into RAM

  struct atoll_heap_info before;
  atoll_heap_info(&before);
  CHECK(before.limit <= memory - kImageOffset - image && before.limit + 4096 > memory - kImageOffset - image,
        "limit %zu = memory %zu - 1 MiB - image %zu (to a page)", before.limit, memory, image);
  CHECK(before.mapped <= before.limit, "mapped %zu within the limit", before.mapped);
  CHECK(before.in_use + before.free <= before.mapped, "in_use %zu + free %zu within mapped", before.in_use, before.free);

  const size_t kBlock = 3 << 20;
  char* block = static_cast<char*>(malloc(kBlock));
  CHECK(block != nullptr, "malloc(3 MiB)");
  memset(block, 1, kBlock);
  struct atoll_heap_info during;
  atoll_heap_info(&during);
  CHECK(during.in_use >= before.in_use + kBlock, "in_use grew by at least 3 MiB: %zu -> %zu", before.in_use,
        during.in_use);
  CHECK(during.mapped >= before.mapped + kBlock, "mapped grew by at least 3 MiB: %zu -> %zu", before.mapped,
        during.mapped);
  struct mallinfo2 m = mallinfo2();
  CHECK(m.uordblks == during.in_use && m.fordblks == during.free, "mallinfo2 agrees: uordblks %zu, fordblks %zu",
        m.uordblks, m.fordblks);
  free(block);
  struct atoll_heap_info after;
  atoll_heap_info(&after);
  CHECK(after.in_use < during.in_use - kBlock / 2, "in_use fell back after free: %zu", after.in_use);

  char* too_big = new (std::nothrow) char[memory];
  CHECK(too_big == nullptr, "nothrow new of all guest memory answers nullptr");
  char* aligned = new (std::align_val_t(4096)) char[100];
  CHECK(reinterpret_cast<uintptr_t>(aligned) % 4096 == 0, "aligned new is aligned");
  operator delete[](aligned, std::align_val_t(4096));
  return check_result("heap_info");
}
