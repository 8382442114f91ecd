// Upcalls reach a running guest: while the vCPU spins (no hypercalls), a timer
// event is delivered asynchronously; with upcalls masked it waits, and it is
// delivered the moment they are unmasked.
#include "atoll/evtchn.h"
#include "atoll/time.h"
#include "check.h"

using namespace atl;

namespace {

// Spins for up to `limit_ns` until an event has been dispatched; returns the time
// it took, or 0 if none came.
uint64_t spin_for_event(uint64_t limit_ns) {
  uint64_t before = evtchn::dispatched_count();
  uint64_t t0 = time::monotonic_ns();
  while (time::monotonic_ns() - t0 < limit_ns)
    if (evtchn::dispatched_count() != before) return time::monotonic_ns() - t0;
  return 0;
}

}  // namespace

int main() {
  time::set_timer(time::monotonic_ns() + 20000000);
  uint64_t took = spin_for_event(2000000000);
  CHECK(took != 0, "a timer event interrupted a spinning guest after %.2f ms", took / 1e6);
  CHECK(took >= 19000000, "and not before the deadline");

  uint64_t before;
  {
    evtchn::UpcallGuard masked;
    time::set_timer(time::monotonic_ns() + 10000000);
    before = evtchn::dispatched_count();
    uint64_t t0 = time::monotonic_ns();
    while (time::monotonic_ns() - t0 < 60000000) {
    }
    CHECK(evtchn::dispatched_count() == before, "no upcall while upcalls are masked");
  }
  CHECK(evtchn::dispatched_count() > before, "the held-back event is delivered on unmask");
  return check_result("upcall_async");
}
