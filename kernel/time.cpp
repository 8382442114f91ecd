#include "atoll/time.h"

#include <xen/xen.h>

#include "atoll/hypercall.h"
#include "atoll/platform.h"
#include "atoll/pvclock.h"

namespace atl::time {
namespace {

const shared_info* g_shared;
uint64_t g_last_ns;       // never hand out a time earlier than one already seen
uint64_t g_timer_deadline;

inline uint64_t rdtsc() {
  uint32_t lo, hi;
  asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return (uint64_t{hi} << 32) | lo;
}

}  // namespace

void init() { g_shared = platform::boot_info().shared; }

uint64_t monotonic_ns() {
  const vcpu_time_info* t = &g_shared->vcpu_info[0].time;
  uint32_t version;
  uint64_t ns;
  // ORDERING: seqlock read; the hypervisor bumps version to odd, writes, bumps to
  // even. Retry on odd or changed versions.
  do {
    version = __atomic_load_n(&t->version, __ATOMIC_ACQUIRE);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint64_t delta = rdtsc() - t->tsc_timestamp;
    ns = t->system_time + pvclock::scale_delta(delta, t->tsc_to_system_mul, t->tsc_shift);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
  } while ((version & 1) || version != __atomic_load_n(&t->version, __ATOMIC_ACQUIRE));
  // The hypervisor refines its TSC estimate over time; clamp so time never runs back.
  uint64_t last = __atomic_load_n(&g_last_ns, __ATOMIC_RELAXED);
  if (ns < last) return last;
  __atomic_store_n(&g_last_ns, ns, __ATOMIC_RELAXED);
  return ns;
}

uint64_t wallclock_ns() {
  uint32_t version;
  uint64_t sec, nsec;
  do {
    version = __atomic_load_n(&g_shared->wc_version, __ATOMIC_ACQUIRE);
    sec = (uint64_t{g_shared->wc_sec_hi} << 32) | g_shared->wc_sec;
    nsec = g_shared->wc_nsec;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
  } while ((version & 1) || version != __atomic_load_n(&g_shared->wc_version, __ATOMIC_ACQUIRE));
  return sec * 1000000000ULL + nsec + monotonic_ns();
}

bool claim_timer(uint64_t deadline_ns) {
  if (deadline_ns == g_timer_deadline) return false;
  g_timer_deadline = deadline_ns;
  return true;
}

void set_timer(uint64_t deadline_ns) {
  if (deadline_ns == g_timer_deadline) return;
  g_timer_deadline = deadline_ns;
  hypercall::set_timer_op(deadline_ns);
}

}  // namespace atl::time
