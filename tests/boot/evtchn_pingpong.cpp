// 10,000 event-channel round trips between two threads over a loopback channel
// pair: every send is a hypercall, every delivery an upcall that wakes a thread.
#include "atoll/evtchn.h"
#include "atoll/sched.h"
#include "atoll/time.h"
#include "check.h"

namespace {

constexpr int kRounds = 10000;

struct Side {
  atl::sched::WaitQueue queue;
  volatile int received = 0;
};

Side g_ping, g_pong;
atl::EvtchnPort g_to_pong{0}, g_to_ping{0};

void on_event(atl::EvtchnPort, void* data) {
  auto* side = static_cast<Side*>(data);
  side->received = side->received + 1;
  side->queue.wake_one();
}

void pong_thread(void*) {
  for (int i = 1; i <= kRounds; ++i) {
    atl::sched::wait_until(g_pong.queue, [&] { return g_pong.received >= i; });
    if (!atl::evtchn::send(g_to_ping).ok()) return;
  }
}

}  // namespace

int main() {
  using namespace atl;
  auto a = evtchn::alloc_unbound(kDomidSelf);
  CHECK(a.ok(), "alloc_unbound(DOMID_SELF)");
  auto b = evtchn::bind_interdomain(kDomidSelf, *a);
  CHECK(b.ok(), "bind_interdomain to it");
  if (!a.ok() || !b.ok()) return check_result("evtchn_pingpong");
  // Xen marks the port bind_interdomain returns pending (an event sent before
  // the bind is not lost); the hosted hypervisor does the same. That event is
  // not one of ours: take it off before the count starts.
  CHECK(evtchn::is_pending(*b), "bind_interdomain left its new port pending");
  evtchn::clear(*b);
  // Sending on `a` raises `b` and vice versa.
  g_to_pong = *a;
  g_to_ping = *b;
  evtchn::bind(*b, on_event, &g_pong);
  evtchn::bind(*a, on_event, &g_ping);

  sched::Thread* pong = sched::create("pong", pong_thread, nullptr);
  uint64_t t0 = time::monotonic_ns();
  for (int i = 1; i <= kRounds; ++i) {
    if (!evtchn::send(g_to_pong).ok()) break;
    sched::wait_until(g_ping.queue, [&] { return g_ping.received >= i; });
  }
  uint64_t elapsed = time::monotonic_ns() - t0;
  sched::join(pong);
  CHECK(g_ping.received == kRounds && g_pong.received == kRounds, "%d round trips completed (%d/%d)", kRounds,
        g_ping.received, g_pong.received);
  printf("round trip: %.2f us\n", elapsed / 1e3 / kRounds);
  CHECK(evtchn::close(*a).ok() && evtchn::close(*b).ok(), "both ports close");
  CHECK(!evtchn::send(*a).ok(), "sending on a closed port fails");
  return check_result("evtchn_pingpong");
}
