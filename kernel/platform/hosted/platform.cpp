// The hosted platform: the guest runs as a sandboxed Linux process under Atoll's
// own hypervisor (see atoll/hosted_abi.h for the address map and the contract).
#include <xen/callback.h>
#include <xen/grant_table.h>

#include "atoll/evtchn.h"
#include "atoll/hosted_abi.h"
#include "atoll/hypercall.h"
#include "atoll/platform.h"

namespace atl::platform {
namespace {

// Filled by hosted_start, before the constructors run: constinit keeps it
// out of them.
constinit BootInfo g_boot;

}  // namespace

const BootInfo& boot_info() { return g_boot; }
void* phys_to_virt(uint64_t gpa) { return reinterpret_cast<void*>(hosted::gpa_to_va(gpa)); }
uint64_t virt_to_phys(const void* va) { return reinterpret_cast<uintptr_t>(va) - hosted::kGuestBase; }
const char* name() { return "hosted"; }

void register_event_callback() {
  callback_register cb{};
  cb.type = CALLBACKTYPE_event;
  cb.address = reinterpret_cast<uintptr_t>(&evtchn::upcall);
  atoll_hypercall(__HYPERVISOR_callback_op, CALLBACKOP_register, reinterpret_cast<uintptr_t>(&cb), 0, 0, 0);
}

void console_write_early(const char* text, size_t length) {
  // One hypercall per chunk: the hypervisor bounds a single write at 1 MiB.
  while (length) {
    size_t chunk = length > 65536 ? 65536 : length;
    hypercall::console_write(text, chunk);
    text += chunk;
    length -= chunk;
  }
}

void record_boot_milestone(bool main_reached, uint64_t now_ns) {
  auto* rec = static_cast<hosted::BootRecord*>(phys_to_virt(hosted::kBootRecordGpa));
  rec->magic = hosted::kBootRecordMagic;
  if (main_reached) rec->main_ns = now_ns; else rec->kernel_entry_ns = now_ns;
}

Result<void*> map_grant_table(unsigned frames) {
  xen_pfn_t gfns[32];
  if (frames == 0 || frames > 32) return Errno::kInval;
  gnttab_setup_table op{};
  op.dom = DOMID_SELF;
  op.nr_frames = frames;
  set_xen_guest_handle(op.frame_list, gfns);
  long rc = atoll_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, reinterpret_cast<uintptr_t>(&op), 1, 0, 0);
  if (rc < 0) return static_cast<Errno>(-rc);
  if (op.status != GNTST_okay) return Errno::kNoMem;
  // The hypervisor's frames are already mapped into this process (in the window
  // at kHvFramesGpa) and the table's are contiguous there: nothing to map.
  for (unsigned i = 1; i < frames; ++i)
    if (gfns[i] != gfns[0] + i) return Errno::kInval;
  return phys_to_virt(uint64_t{gfns[0]} << 12);
}

}  // namespace atl::platform

extern "C" char _end[];

extern "C" [[noreturn]] void hosted_start(const start_info_t* si) {
  using namespace atl;
  platform::BootInfo& b = platform::g_boot;
  b.shared = static_cast<shared_info*>(platform::phys_to_virt(si->shared_info));
  b.memory_size = si->nr_pages * hosted::kPageSize;
  b.heap_start = (reinterpret_cast<uintptr_t>(_end) + hosted::kPageSize - 1) & ~(hosted::kPageSize - 1);
  // ABI: the hypervisor places the module (virtual address, as on Xen PV
  // without SIF_MOD_START_PFN) right after the image; the heap begins past it.
  if (si->mod_len && si->mod_start >= b.heap_start) {
    b.module_start = si->mod_start;
    b.module_size = si->mod_len;
    b.heap_start = (si->mod_start + si->mod_len + hosted::kPageSize - 1) & ~(hosted::kPageSize - 1);
  }
  b.heap_end = hosted::gpa_to_va(b.memory_size);
  b.cmdline = reinterpret_cast<const char*>(si->cmd_line);
  // A ring without an event channel (the console's: or without a frame) is absent.
  if (si->console.domU.mfn && si->console.domU.evtchn)
    b.console = platform::RingPage{Gfn(si->console.domU.mfn), EvtchnPort(si->console.domU.evtchn)};
  if (si->store_evtchn) b.store = platform::RingPage{Gfn(si->store_mfn), EvtchnPort(si->store_evtchn)};
  kernel_main();
}
