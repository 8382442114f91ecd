// Event channels between two domains of one daemon (Xen's EVTCHNOP_alloc_unbound
// for another domain, then EVTCHNOP_bind_interdomain from that domain):
//
//   evtchn_peer serve CALLER OTHER   allocates a port for domain CALLER and one
//                                    for OTHER, prints both, and answers each
//                                    event from CALLER with one back
//   evtchn_peer call SERVER PORT OTHER_PORT
//                                    binds SERVER's PORT and makes kRounds round
//                                    trips; binding OTHER_PORT (meant for
//                                    another domain), a port twice, or a domain
//                                    that does not exist is refused
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atoll/evtchn.h"
#include "atoll/sched.h"
#include "atoll/time.h"
#include "check.h"

namespace {

constexpr int kRounds = 1000;

atl::sched::WaitQueue g_queue;
volatile int g_received = 0;

void on_event(atl::EvtchnPort, void*) {
  g_received = g_received + 1;
  g_queue.wake_one();
}

int serve(uint16_t caller, uint16_t other) {
  using namespace atl;
  auto port = evtchn::alloc_unbound(DomId(caller));
  auto spare = evtchn::alloc_unbound(DomId(other));
  CHECK(port.ok() && spare.ok(), "alloc_unbound for domains %u and %u", caller, other);
  if (!port.ok() || !spare.ok()) return check_result("evtchn_peer serve");
  evtchn::bind(*port, on_event, nullptr);
  printf("ports %u %u\n", port->value(), spare->value());
  fflush(stdout);
  for (int i = 1; i <= kRounds; ++i) {
    sched::wait_until(g_queue, [&] { return g_received >= i; });
    if (!evtchn::send(*port).ok()) break;
  }
  CHECK(g_received == kRounds, "answered %d events from domain %u", g_received, caller);
  return check_result("evtchn_peer serve");
}

int call(uint16_t server, uint32_t port_number, uint32_t spare_number) {
  using namespace atl;
  CHECK(!evtchn::bind_interdomain(DomId(server), EvtchnPort(spare_number)).ok(),
        "binding a port domain %u allocated for another domain is refused", server);
  CHECK(!evtchn::bind_interdomain(DomId(4000), EvtchnPort(port_number)).ok(),
        "binding a port of a domain that does not exist is refused");
  auto port = evtchn::bind_interdomain(DomId(server), EvtchnPort(port_number));
  CHECK(port.ok(), "bind_interdomain to domain %u port %u", server, port_number);
  if (!port.ok()) return check_result("evtchn_peer call");
  CHECK(!evtchn::bind_interdomain(DomId(server), EvtchnPort(port_number)).ok(), "binding the same port twice is refused");
  // The new port starts pending, as on Xen (a notification the server sent
  // before the bind is not lost): not an answer to one of ours.
  CHECK(evtchn::is_pending(*port), "bind_interdomain left its new port pending");
  evtchn::clear(*port);
  evtchn::bind(*port, on_event, nullptr);
  uint64_t t0 = time::monotonic_ns();
  for (int i = 1; i <= kRounds; ++i) {
    if (!evtchn::send(*port).ok()) break;
    sched::wait_until(g_queue, [&] { return g_received >= i; });
  }
  uint64_t elapsed = time::monotonic_ns() - t0;
  CHECK(g_received == kRounds, "%d round trips with domain %u", g_received, server);
  printf("round trip between domains: %.2f us\n", elapsed / 1e3 / kRounds);
  return check_result("evtchn_peer call");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]), atoi(argv[3]));
  if (argc == 5 && strcmp(argv[1], "call") == 0) return call(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
  printf("usage: evtchn_peer serve CALLER OTHER | call SERVER PORT OTHER_PORT\n");
  return 2;
}
