// What libstdc++ and libgcc's unwinder need from the OS beneath them.
#include <stdint.h>

#include <chrono>

#include "atoll/time.h"

// libgcc_eh (built for glibc) finds unwind tables through _dl_find_object. A static
// image has one object: ours, whose .eh_frame_hdr the linker script brackets.
extern "C" char __image_start[];
extern "C" char _end[];
extern "C" char __eh_frame_hdr_start[];

struct dl_find_object {
  unsigned long long dlfo_flags;
  void* dlfo_map_start;
  void* dlfo_map_end;
  struct link_map* dlfo_link_map;
  void* dlfo_eh_frame;
  unsigned long long reserved[7];
};

extern "C" int _dl_find_object(void* pc, dl_find_object* result) {
  if (pc < static_cast<void*>(__image_start) || pc >= static_cast<void*>(_end)) return -1;
  result->dlfo_flags = 0;
  result->dlfo_map_start = __image_start;
  result->dlfo_map_end = _end;
  result->dlfo_link_map = nullptr;
  result->dlfo_eh_frame = __eh_frame_hdr_start;
  return 0;
}

// newlib has no CLOCK_MONOTONIC, so libstdc++'s own steady_clock would fall back to
// the wallclock; both clocks come from the pvclock here instead.
namespace std::chrono {
inline namespace _V2 {

system_clock::time_point system_clock::now() noexcept {
  return time_point(duration_cast<duration>(nanoseconds(atl::time::wallclock_ns())));
}

steady_clock::time_point steady_clock::now() noexcept {
  return time_point(duration_cast<duration>(nanoseconds(atl::time::monotonic_ns())));
}

}  // namespace _V2
}  // namespace std::chrono
