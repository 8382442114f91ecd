// evtchn_rtt: what one event-channel round trip costs a guest on the hosted
// platform. The guest opens a loopback channel to itself (an unbound port, then a
// second port bound to it), and each iteration sends on one end and waits until
// the handler on the other end has run. A send is one hypercall (a seccomp user
// notification the hypervisor answers); the hypervisor marks the other end
// pending, and the kernel delivers it on the hypercall's way back. So one round
// trip is: guest -> hypervisor -> guest, plus the upcall scan and the handler.
//
// For scale it also times a null hypercall (XENVER_version), which is the same
// trip without the event, and checks the raw pvclock across hypercalls: the
// hypervisor re-publishes the clock on every answer, and a reading taken after a
// hypercall should never be earlier than one taken before it.
#include <stdio.h>
#include <xen/version.h>

#include <algorithm>

#include "atoll/evtchn.h"
#include "atoll/hypercall.h"
#include "atoll/platform.h"
#include "atoll/pvclock.h"
#include "atoll/sched.h"
#include "atoll/time.h"

namespace {

using namespace atl;

constexpr unsigned kIterations = 20000;
constexpr unsigned kWarmup = 1000;
// A delivered event takes microseconds; this much means it was lost.
constexpr uint64_t kLostAfterNs = 100'000'000;
// No trip to the hypervisor process can take less (a bare Linux system call costs
// ~1 us on this host kind). A shorter sample means the guest clock stood still:
// monotonic_ns() clamps when a re-published pvclock reads earlier than a time it
// already handed out.
constexpr uint64_t kImpossibleNs = 1000;

uint64_t g_samples[kIterations];

struct Receiver {
  EvtchnPort port{0};
  bool delivered = false;  // written by the handler, read by the timing loop
  unsigned wrong_port = 0;
  sched::WaitQueue waiters;
};

Receiver g_receiver;

void on_event(EvtchnPort port, void* data) {
  auto* r = static_cast<Receiver*>(data);
  if (port != r->port) ++r->wrong_port;
  __atomic_store_n(&r->delivered, true, __ATOMIC_RELEASE);
  r->waiters.wake_one();
}

bool delivered() { return __atomic_load_n(&g_receiver.delivered, __ATOMIC_ACQUIRE); }

// The slow path: the event was not delivered on the way back from the hypercall
// (it should be). Park until the handler runs or the event is given up for lost.
bool wait_for_delivery() {
  uint64_t deadline = time::monotonic_ns() + kLostAfterNs;
  evtchn::UpcallGuard guard;
  while (!delivered())
    if (!g_receiver.waiters.wait(deadline)) return false;
  return true;
}

struct Stats {
  uint64_t median, mean, p99, min;
  unsigned clock_stalls;
};

Stats summarize(uint64_t* samples, unsigned n) {
  std::sort(samples, samples + n);
  uint64_t sum = 0;
  unsigned stalls = 0;
  for (unsigned i = 0; i < n; ++i) {
    sum += samples[i];
    if (samples[i] < kImpossibleNs) ++stalls;
  }
  return {samples[n / 2], sum / n, samples[n * 99 / 100], samples[0], stalls};
}

void print(const char* what, const Stats& s, unsigned slow_path) {
  printf("%s: iterations=%u median_ns=%llu mean_ns=%llu p99_ns=%llu min_ns=%llu slow_path=%u clock_stalls=%u\n", what,
         kIterations, static_cast<unsigned long long>(s.median), static_cast<unsigned long long>(s.mean),
         static_cast<unsigned long long>(s.p99), static_cast<unsigned long long>(s.min), slow_path, s.clock_stalls);
}

// Returns the number of round trips that needed the slow path, or -1 if an event
// was lost.
int time_round_trips(EvtchnPort send_port) {
  int slow_path = 0;
  for (unsigned i = 0; i < kWarmup + kIterations; ++i) {
    __atomic_store_n(&g_receiver.delivered, false, __ATOMIC_RELEASE);
    uint64_t t0 = time::monotonic_ns();
    auto sent = evtchn::send(send_port);
    if (!sent.ok()) {
      printf("evtchn_rtt: send failed (error %d)\n", to_int(sent.error()));
      return -1;
    }
    if (!delivered()) {
      ++slow_path;
      if (!wait_for_delivery()) {
        printf("evtchn_rtt: event lost in round trip %u\n", i);
        return -1;
      }
    }
    uint64_t t1 = time::monotonic_ns();
    if (i >= kWarmup) g_samples[i - kWarmup] = t1 - t0;
  }
  return slow_path;
}

void time_null_hypercalls() {
  for (unsigned i = 0; i < kWarmup + kIterations; ++i) {
    uint64_t t0 = time::monotonic_ns();
    hypercall::xen_version(XENVER_version, nullptr);
    uint64_t t1 = time::monotonic_ns();
    if (i >= kWarmup) g_samples[i - kWarmup] = t1 - t0;
  }
}

// The pvclock formula without time::monotonic_ns()'s clamp against going back.
uint64_t raw_pvclock_ns() {
  const vcpu_time_info* t = &platform::boot_info().shared->vcpu_info[0].time;
  uint32_t version;
  uint64_t ns;
  // ORDERING: the same seqlock read as time::monotonic_ns().
  do {
    version = __atomic_load_n(&t->version, __ATOMIC_ACQUIRE);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    uint64_t delta = ((uint64_t{hi} << 32) | lo) - t->tsc_timestamp;
    ns = t->system_time + pvclock::scale_delta(delta, t->tsc_to_system_mul, t->tsc_shift);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
  } while ((version & 1) || version != __atomic_load_n(&t->version, __ATOMIC_ACQUIRE));
  return ns;
}

void check_clock_across_hypercalls() {
  unsigned backwards = 0;
  uint64_t max_backward = 0;
  for (unsigned i = 0; i < kIterations; ++i) {
    uint64_t before = raw_pvclock_ns();
    hypercall::xen_version(XENVER_version, nullptr);
    uint64_t after = raw_pvclock_ns();
    if (after < before) {
      ++backwards;
      max_backward = std::max(max_backward, before - after);
    }
  }
  printf("pvclock_across_hypercall: iterations=%u backwards=%u max_backward_ns=%llu\n", kIterations, backwards,
         static_cast<unsigned long long>(max_backward));
}

}  // namespace

int main() {
  auto sender = evtchn::alloc_unbound(kDomidSelf);
  if (!sender.ok()) {
    printf("evtchn_rtt: alloc_unbound failed (error %d)\n", to_int(sender.error()));
    return 1;
  }
  auto receiver = evtchn::bind_interdomain(kDomidSelf, *sender);
  if (!receiver.ok()) {
    printf("evtchn_rtt: bind_interdomain failed (error %d)\n", to_int(receiver.error()));
    return 1;
  }
  // Its new port starts pending (Xen's bind_interdomain does that; so does
  // ours): not a round trip, so take it off before timing.
  evtchn::clear(*receiver);
  g_receiver.port = *receiver;
  evtchn::bind(*receiver, on_event, &g_receiver);
  printf("evtchn_rtt: sending on port %u, handler on port %u\n", sender->value(), receiver->value());

  int slow_path = time_round_trips(*sender);
  if (slow_path < 0) return 1;
  if (g_receiver.wrong_port) {
    printf("evtchn_rtt: the handler ran for a wrong port %u times\n", g_receiver.wrong_port);
    return 1;
  }
  print("evtchn_rtt", summarize(g_samples, kIterations), static_cast<unsigned>(slow_path));

  time_null_hypercalls();
  print("null_hypercall", summarize(g_samples, kIterations), 0);
  check_clock_across_hypercalls();
  return 0;
}
