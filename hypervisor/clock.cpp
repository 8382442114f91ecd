#include "clock.h"

#include <time.h>
#include <x86intrin.h>

namespace atl::hv {

uint64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + ts.tv_nsec;
}

uint64_t read_tsc() { return __rdtsc(); }

// A (TSC, CLOCK_MONOTONIC) pair taken together: if we were preempted between the
// two reads the TSC brackets show it, and we try again; the TSC is the midpoint.
void sample_pair(uint64_t& tsc, uint64_t& ns) {
  uint64_t best_gap = ~0ULL;
  for (int i = 0; i < 4; ++i) {
    uint64_t before = read_tsc();
    uint64_t mono = monotonic_ns();
    uint64_t after = read_tsc();
    if (after - before < best_gap) {
      best_gap = after - before;
      tsc = before + (after - before) / 2;
      ns = mono;
    }
    if (best_gap < 2000) break;  // well under a microsecond: good enough
  }
}

TscClock::TscClock() : m_tsc0(read_tsc()), m_ns0(monotonic_ns()) {}

pvclock::Scale TscClock::scale() {
  uint64_t ns = monotonic_ns();
  // Re-estimate while the baseline keeps doubling; after a second the estimate is
  // good to well under a part per million and stays put.
  if (m_scale.mul == 0 || (ns - m_ns0 > 2 * m_scale_baseline_ns && m_scale_baseline_ns < 1000000000ULL)) {
    while (ns - m_ns0 < 50000) ns = monotonic_ns();  // at least 50 us for the first estimate
    uint64_t tsc = read_tsc();
    uint64_t hz = static_cast<uint64_t>((static_cast<unsigned __int128>(tsc - m_tsc0) * 1000000000ULL) / (ns - m_ns0));
    m_scale = pvclock::scale_for_frequency(hz);
    m_scale_baseline_ns = ns - m_ns0;
  }
  return m_scale;
}

void TscClock::publish(vcpu_time_info* t) {
  pvclock::Scale s = scale();
  // ORDERING: odd version first, then the fields, then even version; the guest
  // retries while the version is odd or changed under it.
  uint32_t v = __atomic_load_n(&t->version, __ATOMIC_RELAXED);
  __atomic_store_n(&t->version, v + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  uint64_t tsc, ns;
  sample_pair(tsc, ns);
  t->tsc_timestamp = tsc;
  t->system_time = ns;
  t->tsc_to_system_mul = s.mul;
  t->tsc_shift = s.shift;
  t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&t->version, v + 2, __ATOMIC_RELAXED);
}

void TscClock::publish_wallclock(shared_info* s) {
  timespec real;
  clock_gettime(CLOCK_REALTIME, &real);
  uint64_t wall_ns = uint64_t(real.tv_sec) * 1000000000ULL + real.tv_nsec - monotonic_ns();
  uint32_t v = __atomic_load_n(&s->wc_version, __ATOMIC_RELAXED);
  __atomic_store_n(&s->wc_version, v + 1, __ATOMIC_RELAXED);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  uint64_t sec = wall_ns / 1000000000ULL;
  s->wc_sec = static_cast<uint32_t>(sec);
  s->wc_sec_hi = static_cast<uint32_t>(sec >> 32);
  s->wc_nsec = static_cast<uint32_t>(wall_ns % 1000000000ULL);
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&s->wc_version, v + 2, __ATOMIC_RELAXED);
}

}  // namespace atl::hv
