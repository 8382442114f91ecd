#include "atoll/gnttab.h"

#include <xen/grant_table.h>

#include "atoll/evtchn.h"
#include "atoll/gnttab_v1.h"
#include "atoll/grant_allocator.h"
#include "atoll/platform.h"

namespace atl::gnttab {
namespace {

grant_entry_v1_t* g_entries;
GrantAllocator g_allocator;

}  // namespace

Result<void> init(unsigned frames) {
  // Where the frames come from and how they are mapped is the platform's
  // business (GNTTABOP_setup_table on the hosted platform, XENMEM_add_to_physmap
  // on PVH).
  auto entries = platform::map_grant_table(frames);
  if (!entries.ok()) return entries.error();
  g_entries = static_cast<grant_entry_v1_t*>(*entries);
  if (!g_allocator.grow(frames * gnttab_v1::kEntriesPerFrame)) return Errno::kNoMem;
  return {};
}

Result<GrantRef> grant_access(DomId peer, Gfn frame, Access access) {
  Result<GrantRef> ref = Errno::kNoSpc;
  {
    evtchn::UpcallGuard guard;
    ref = g_allocator.allocate();
  }
  if (!ref.ok()) return ref;
  gnttab_v1::grant(&g_entries[ref->value()], peer.value(), static_cast<uint32_t>(frame.value()),
                   access == Access::kReadOnly);
  return ref;
}

bool end_access(GrantRef ref) {
  if (ref.value() >= g_allocator.capacity()) return false;
  if (!gnttab_v1::end_access(&g_entries[ref.value()])) return false;
  evtchn::UpcallGuard guard;
  g_allocator.release(ref);
  return true;
}

Gfn virt_to_gfn(const void* va) { return Gfn(platform::virt_to_phys(va) >> 12); }

Result<size_t> grant_buffer(DomId peer, const void* buffer, size_t length, Access access, GrantRef* refs,
                            size_t max_refs) {
  uintptr_t first = reinterpret_cast<uintptr_t>(buffer) & ~uintptr_t{4095};
  uintptr_t end = reinterpret_cast<uintptr_t>(buffer) + length;
  size_t n = 0;
  for (uintptr_t page = first; page < end; page += 4096) {
    if (n == max_refs) {
      for (size_t i = 0; i < n; ++i) end_access(refs[i]);
      return Errno::kNoSpc;
    }
    auto ref = grant_access(peer, virt_to_gfn(reinterpret_cast<void*>(page)), access);
    if (!ref.ok()) {
      for (size_t i = 0; i < n; ++i) end_access(refs[i]);
      return ref.error();
    }
    refs[n++] = *ref;
  }
  return n;
}

uint32_t free_refs() { return g_allocator.free_count(); }

}  // namespace atl::gnttab
