// atoll_hypercall on PVH: the hypercall page, except for SCHEDOP_block.
//
// On an HVM vCPU, Xen's SCHEDOP_block returns at once only for an interrupt
// the local APIC still holds; it does not look at evtchn_upcall_pending. The
// kernel masks upcalls in software, so an upcall that arrives while they are
// masked (the idle thread masks them before deciding to block) is taken, finds
// the mask, is acknowledged and leaves only evtchn_upcall_pending behind; a
// SCHEDOP_block after it slept through the event (seen: xenstore_guest hung
// waiting for its second reply). So the block is done here as Linux idles an
// HVM guest: with interrupts off, unmask upcalls (what SCHEDOP_block does) and
// check the pending flag; if nothing is pending, `sti; hlt` enables interrupts
// and halts atomically, and any upcall, held in the APIC meanwhile, wakes it.
#include <xen/sched.h>
#include <xen/version.h>
#include <xen/xen.h>

#include "atoll/platform.h"

extern "C" long xen_hypercall_raw(unsigned op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);

namespace {

long block() {
  vcpu_info* vcpu = &atl::platform::boot_info().shared->vcpu_info[0];
  asm volatile("cli" ::: "memory");
  __atomic_store_n(&vcpu->evtchn_upcall_mask, uint8_t{0}, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&vcpu->evtchn_upcall_pending, __ATOMIC_SEQ_CST))
    asm volatile("sti" ::: "memory");
  else
    asm volatile("sti; hlt" ::: "memory");
  return 0;
}

bool is_block(uint64_t op, uint64_t cmd) { return op == __HYPERVISOR_sched_op && cmd == SCHEDOP_block; }

// The scheduler batches its last notifications and the timer with the block
// (kernel/sched.cpp): the rest goes to Xen as one multicall, the block after.
long multicall(multicall_entry* calls, uint64_t count) {
  unsigned blocks = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (!is_block(calls[i].op, calls[i].args[0])) continue;
    // A harmless stand-in keeps the entries' order and count as the caller built them.
    calls[i].op = __HYPERVISOR_xen_version;
    calls[i].args[0] = XENVER_version;
    calls[i].args[1] = 0;
    ++blocks;
  }
  long rc = xen_hypercall_raw(__HYPERVISOR_multicall, reinterpret_cast<uintptr_t>(calls), count, 0, 0, 0);
  if (rc < 0 || !blocks) return rc;
  for (uint64_t i = 0; i < count; ++i) {
    if (calls[i].op != __HYPERVISOR_xen_version || calls[i].args[0] != XENVER_version) continue;
    calls[i].op = __HYPERVISOR_sched_op;
    calls[i].args[0] = SCHEDOP_block;
    calls[i].result = block();
  }
  return rc;
}

}  // namespace

extern "C" long atoll_hypercall(unsigned op, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5) {
  if (is_block(op, a1)) return block();
  if (op == __HYPERVISOR_multicall) return multicall(reinterpret_cast<multicall_entry*>(a1), a2);
  return xen_hypercall_raw(op, a1, a2, a3, a4, a5);
}
