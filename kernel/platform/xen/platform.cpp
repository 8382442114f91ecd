// The Xen PVH platform: a 64-bit HVM guest without emulated devices, entered
// through XEN_ELFNOTE_PHYS32_ENTRY (entry.S). Everything the hosted platform
// finds in start_info comes here from hvm_start_info (command line, boot
// module, memory map), HVM parameters (console and xenstore rings) and
// XENMEM_add_to_physmap (shared_info, grant frames). Physical and virtual
// addresses are the same: entry.S identity-maps the first 4 GiB.
#include <string.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/grant_table.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>

#include "atoll/evtchn.h"
#include "atoll/platform.h"
#include "pvh.h"

extern "C" char hypercall_page[];  // entry.S
extern "C" char _end[];            // xen.ld: the image's end, page-aligned

namespace atl::platform {
namespace {

constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kIdentityMapEnd = uint64_t{4} << 30;  // entry.S's page tables
constexpr uint32_t kE820Ram = 1;
constexpr unsigned kMaxMemmapEntries = 64;
constexpr unsigned kMaxGrantFrames = 32;

constinit BootInfo g_boot;

// Copies of what the domain builder left in memory the heap will reuse.
char g_cmdline[MAX_GUEST_CMDLINE];
hvm_memmap_table_entry g_memmap[kMaxMemmapEntries];
unsigned g_memmap_entries;

// Frames of the image's own that Xen's pages replace in the physmap: the RAM
// under them goes back to Xen, and the identity map reaches them as it is.
alignas(kPageSize) uint8_t g_shared_info_frame[kPageSize];
alignas(kPageSize) uint8_t g_grant_frames[kMaxGrantFrames][kPageSize];

uint64_t round_up(uint64_t value) { return (value + kPageSize - 1) & ~(kPageSize - 1); }

long memory_op(unsigned cmd, void* arg) {
  return atoll_hypercall(__HYPERVISOR_memory_op, cmd, reinterpret_cast<uintptr_t>(arg), 0, 0, 0);
}

long add_to_physmap(unsigned space, uint64_t idx, uint64_t gfn) {
  xen_add_to_physmap op{};
  op.domid = DOMID_SELF;
  op.space = space;
  op.idx = idx;
  op.gpfn = gfn;
  return memory_op(XENMEM_add_to_physmap, &op);
}

uint64_t hvm_param(uint32_t index) {
  xen_hvm_param p{};
  p.domid = DOMID_SELF;
  p.index = index;
  long rc = atoll_hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, reinterpret_cast<uintptr_t>(&p), 0, 0, 0);
  return rc < 0 ? 0 : p.value;
}

long set_hvm_param(uint32_t index, uint64_t value) {
  xen_hvm_param p{};
  p.domid = DOMID_SELF;
  p.index = index;
  p.value = value;
  return atoll_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_param, reinterpret_cast<uintptr_t>(&p), 0, 0, 0);
}

// Xen's CPUID leaves sit at 0x40000000 or, when Viridian leaves come first,
// at a multiple of 0x100 above it.
uint32_t xen_cpuid_base() {
  for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
    pvh::CpuidResult r = pvh::cpuid(base);
    if (r.ebx == XEN_CPUID_SIGNATURE_EBX && r.ecx == XEN_CPUID_SIGNATURE_ECX && r.edx == XEN_CPUID_SIGNATURE_EDX &&
        r.eax - base >= 2)
      return base;
  }
  return 0;
}

[[noreturn]] void halt_forever() {
  for (;;) asm volatile("cli; hlt");
}

// Without the hypercall page there is no console and no shutdown: stop here
// (a debugger or `xl list` shows the domain spinning in halt).
void init_hypercall_page(uint32_t cpuid_base) {
  if (!cpuid_base) halt_forever();
  uint32_t msr = pvh::cpuid(cpuid_base + 2).ebx;
  pvh::wrmsr(msr, reinterpret_cast<uintptr_t>(hypercall_page));
}

void copy_start_info(const hvm_start_info* si) {
  if (si->magic != XEN_HVM_START_MAGIC_VALUE) {
    static const char msg[] = "atoll: bad hvm_start_info magic: not started by Xen's PVH entry\n";
    pvh::emergency_write(msg, sizeof msg - 1);
    halt_forever();
  }
  if (si->cmdline_paddr) strncpy(g_cmdline, reinterpret_cast<const char*>(si->cmdline_paddr), sizeof g_cmdline - 1);
  g_boot.cmdline = g_cmdline;
  // The first module is the sealed image's archive (xl's ramdisk=); it stays
  // where the builder put it and the heap starts past it.
  if (si->nr_modules && si->modlist_paddr) {
    const auto* mod = reinterpret_cast<const hvm_modlist_entry*>(si->modlist_paddr);
    if (mod->paddr + mod->size <= kIdentityMapEnd) {
      g_boot.module_start = mod->paddr;
      g_boot.module_size = mod->size;
    }
  }
  if (si->version >= 1 && si->memmap_paddr) {
    const auto* map = reinterpret_cast<const hvm_memmap_table_entry*>(si->memmap_paddr);
    g_memmap_entries = si->memmap_entries < kMaxMemmapEntries ? si->memmap_entries : kMaxMemmapEntries;
    memcpy(g_memmap, map, g_memmap_entries * sizeof *map);
  }
}

// A PVH dom0 may get a version 0 start info: ask Xen for the map instead.
void read_memory_map_from_xen() {
  struct [[gnu::packed]] E820Entry {
    uint64_t addr, size;
    uint32_t type;
  } entries[kMaxMemmapEntries];
  xen_memory_map map{};
  map.nr_entries = kMaxMemmapEntries;
  set_xen_guest_handle(map.buffer, entries);
  if (memory_op(XENMEM_memory_map, &map) < 0) return;
  g_memmap_entries = map.nr_entries < kMaxMemmapEntries ? map.nr_entries : kMaxMemmapEntries;
  for (unsigned i = 0; i < g_memmap_entries; ++i) g_memmap[i] = {entries[i].addr, entries[i].size, entries[i].type, 0};
}

// The heap is the rest of the RAM region the image was loaded into, up to the
// end of the identity map.
void set_heap_bounds() {
  if (!g_memmap_entries) read_memory_map_from_xen();
  uint64_t start = round_up(reinterpret_cast<uintptr_t>(_end));
  if (g_boot.module_size && g_boot.module_start + g_boot.module_size > start)
    start = round_up(g_boot.module_start + g_boot.module_size);
  uint64_t end = start;
  for (unsigned i = 0; i < g_memmap_entries; ++i) {
    const hvm_memmap_table_entry& e = g_memmap[i];
    if (e.type != kE820Ram) continue;
    g_boot.memory_size += e.size;
    if (e.addr <= start && start < e.addr + e.size) end = e.addr + e.size;
  }
  g_boot.heap_start = start;
  g_boot.heap_end = end < kIdentityMapEnd ? end : kIdentityMapEnd;
}

void map_shared_info() {
  uint64_t gfn = reinterpret_cast<uintptr_t>(g_shared_info_frame) / kPageSize;
  if (add_to_physmap(XENMAPSPACE_shared_info, 0, gfn) < 0) {
    pvh::emergency_print("atoll: cannot map shared_info at gfn %#lx\n", gfn);
    halt_forever();
  }
  g_boot.shared = reinterpret_cast<shared_info*>(g_shared_info_frame);
}

std::optional<RingPage> ring_from_params(uint32_t pfn_param, uint32_t evtchn_param) {
  uint64_t pfn = hvm_param(pfn_param);
  uint64_t port = hvm_param(evtchn_param);
  if (!pfn || !port || (pfn + 1) * kPageSize > kIdentityMapEnd) return std::nullopt;
  return RingPage{Gfn(pfn), EvtchnPort(static_cast<uint32_t>(port))};
}

uint32_t g_cpuid_base;

}  // namespace

const BootInfo& boot_info() { return g_boot; }
void* phys_to_virt(uint64_t gpa) { return reinterpret_cast<void*>(gpa); }
uint64_t virt_to_phys(const void* va) { return reinterpret_cast<uintptr_t>(va); }
const char* name() { return "xen"; }

// As Linux does on PVH: the per-vCPU upcall vector (Xen 4.17 offers it:
// CPUID XEN_HVM_CPUID_UPCALL_VECTOR). Xen raises it through the local APIC
// once per 0->1 change of evtchn_upcall_pending, like an edge, and wants an
// EOI. HVM_PARAM_CALLBACK_IRQ is then set to a dummy GSI 1, which Xen never
// raises while the per-vCPU vector is set but which tells libxl the guest has
// PV drivers (`xl shutdown` then asks through xenstore's control/shutdown).
// Not HVM_PARAM_CALLBACK_TYPE_VECTOR: Xen injects that vector for as long as
// evtchn_upcall_pending is set, so an upcall arriving while the kernel has
// them masked (in software) would be injected again and again and the masked
// code would never run (seen with boot test upcall_async).
void register_event_callback() {
  pvh::init_local_apic();
  bool per_vcpu = g_cpuid_base && (pvh::cpuid(g_cpuid_base + 4).eax & XEN_HVM_CPUID_UPCALL_VECTOR);
  long rc = -1;
  if (per_vcpu) {
    xen_hvm_evtchn_upcall_vector op{};
    op.vcpu = 0;
    op.vector = pvh::kUpcallVector;
    rc = atoll_hypercall(__HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, reinterpret_cast<uintptr_t>(&op), 0,
                         0, 0);
  }
  if (rc == 0) {
    set_hvm_param(HVM_PARAM_CALLBACK_IRQ, 1);
  } else {
    // An older Xen: the domain-wide vector, with the re-injection described
    // above while upcalls are masked.
    pvh::emergency_print("atoll: no per-vCPU upcall vector (%ld): using HVM_PARAM_CALLBACK_IRQ\n", rc);
    // ABI: xen/hvm/params.h, the callback type sits in bits 63:56.
    constexpr uint64_t kCallbackTypeVector = uint64_t{HVM_PARAM_CALLBACK_TYPE_VECTOR} << 56;
    rc = set_hvm_param(HVM_PARAM_CALLBACK_IRQ, kCallbackTypeVector | pvh::kUpcallVector);
    if (rc < 0) pvh::emergency_print("atoll: HVM_PARAM_CALLBACK_IRQ failed (%ld): no event upcalls\n", rc);
  }
  // Interrupts on from here: the kernel masks upcalls in software
  // (vcpu_info.evtchn_upcall_mask), which Xen does not look at for an HVM
  // vCPU; the upcall handler honours it instead.
  asm volatile("sti" ::: "memory");
}

void record_boot_milestone(bool, uint64_t) {}

void console_write_early(const char* text, size_t length) { pvh::emergency_write(text, length); }

// Each frame is one of the image's own pages that the grant frame replaces in
// the physmap; Xen fills them as grant table frames 0..frames-1.
Result<void*> map_grant_table(unsigned frames) {
  if (frames == 0 || frames > kMaxGrantFrames) return Errno::kInval;
  for (unsigned i = 0; i < frames; ++i) {
    uint64_t gfn = reinterpret_cast<uintptr_t>(g_grant_frames[i]) / kPageSize;
    long rc = add_to_physmap(XENMAPSPACE_grant_table, i, gfn);
    if (rc < 0) return static_cast<Errno>(-rc);
  }
  return static_cast<void*>(g_grant_frames);
}

}  // namespace atl::platform

extern "C" [[noreturn]] void xen_start(uint32_t start_info_paddr) {
  using namespace atl::platform;
  // First of all, before anything writes memory outside the image: the start
  // info, the command line and the memory map may lie where the heap will be.
  g_cpuid_base = xen_cpuid_base();
  init_hypercall_page(g_cpuid_base);
  copy_start_info(reinterpret_cast<const hvm_start_info*>(uintptr_t{start_info_paddr}));
  pvh::init_traps();
  map_shared_info();
  set_heap_bounds();
  g_boot.console = ring_from_params(HVM_PARAM_CONSOLE_PFN, HVM_PARAM_CONSOLE_EVTCHN);
  g_boot.store = ring_from_params(HVM_PARAM_STORE_PFN, HVM_PARAM_STORE_EVTCHN);
  kernel_main();
}
