// The heap's figures for apps (atoll/memory.h): its range comes from the boot
// info, its break from sbrk() (syscalls.cpp), its use from newlib's malloc.
#include "atoll/memory.h"

#include <stdint.h>

#include "atoll/platform.h"

extern "C" uintptr_t atoll_heap_break(void);  // syscalls.cpp

namespace {

// ABI: newlib 3.3's malloc (mallocr.c, built without HAVE_USR_INCLUDE_MALLOC_H)
// returns its own SVID mallinfo of ints, not the size_t one its <malloc.h>
// declares: read through that header, every field past the fifth was stack
// garbage. So <malloc.h> is not included here and mallinfo() is declared as
// it really is. The fields hold up to 4 GiB read as unsigned, above the
// largest guest.
struct NewlibMallinfo {
  int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};
static_assert(sizeof(NewlibMallinfo) == 40);

size_t field(int v) { return static_cast<unsigned>(v); }

}  // namespace

extern "C" NewlibMallinfo mallinfo(void);

extern "C" void atoll_heap_info(struct atoll_heap_info* info) {
  const auto& boot = atl::platform::boot_info();
  NewlibMallinfo m = mallinfo();
  info->limit = boot.heap_end - boot.heap_start;
  info->mapped = atoll_heap_break() - boot.heap_start;
  info->in_use = field(m.uordblks);
  info->free = field(m.fordblks);
}

extern "C" struct mallinfo2 mallinfo2(void) {
  NewlibMallinfo m = mallinfo();
  return {field(m.arena),   field(m.ordblks), field(m.smblks),   field(m.hblks),    field(m.hblkhd),
          field(m.usmblks), field(m.fsmblks), field(m.uordblks), field(m.fordblks), field(m.keepcost)};
}
