// A guest that floods EVTCHNOP_send at the hypervisor's own backends (its
// console and xenstore channels): multicalls of 32 sends, each followed by a
// single send, as fast as it can, until the host writes `data/stop` in its
// xenstore home, or for ROUNDS rounds if given (`evtchn_flood ROUNDS`, for
// tests/hostile/meson.build's run under `atoll run -v`, where the domain's end
// line shows the coalesced sends). Every send must succeed (a notification is not an error);
// what the hypervisor owes is that it coalesces them (docs/security.md) and
// that every other domain it serves meanwhile goes on (run_neighbour.py).
#include <stdio.h>
#include <stdlib.h>
#include <xen/event_channel.h>

#include "atoll/hypercall.h"
#include "atoll/platform.h"
#include "atoll/xenstore.h"
#include "check.h"

using namespace atl;

int main(int argc, char** argv) {
  const uint64_t limit = argc > 1 ? strtoull(argv[1], nullptr, 10) : 0;
  const platform::BootInfo& boot = platform::boot_info();
  xs::Client* client = xs::client();
  CHECK(boot.console && boot.store && client, "a console and a xenstore channel");
  if (!boot.console || !boot.store || !client) return check_result("evtchn_flood");

  constexpr unsigned kBatch = 32;  // the most a multicall may hold
  evtchn_send sends[kBatch];
  multicall_entry calls[kBatch] = {};
  for (unsigned i = 0; i < kBatch; ++i) {
    sends[i].port = (i % 2 ? boot.console : boot.store)->port.value();
    calls[i].op = __HYPERVISOR_event_channel_op;
    calls[i].args[0] = EVTCHNOP_send;
    calls[i].args[1] = hypercall::ptr(&sends[i]);
  }
  evtchn_send single{boot.store->port.value()};
  printf("evtchn_flood: attacking\n");
  fflush(stdout);
  uint64_t rounds = 0, failed = 0;
  for (;;) {
    for (unsigned i = 0; i < kBatch; ++i) calls[i].result = ~0ULL;
    if (hypercall::multicall(calls, kBatch) != 0) ++failed;
    for (const multicall_entry& c : calls) failed += c.result != 0;
    failed += hypercall::event_channel_op(EVTCHNOP_send, &single) != 0;
    // Ask for the stop only now and then: the flood is the point.
    if (++rounds == limit) break;
    if (rounds % 512 == 0 && client->read("data/stop").ok()) break;
  }
  printf("evtchn_flood: %llu multicalls of %u sends and %llu single sends\n",
         static_cast<unsigned long long>(rounds), kBatch, static_cast<unsigned long long>(rounds));
  CHECK(failed == 0, "every send succeeded (%llu failed)", static_cast<unsigned long long>(failed));
  return check_result("evtchn_flood");
}
