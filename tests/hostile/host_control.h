// What a looping hostile guest hears from the host between its rounds
// (run_neighbour.py writes the keys): data/stop ends the attack; data/pause =
// 1 holds the guest between two rounds, connected and idle, until it is 0
// again, so the host can count the daemon's descriptors and memory at the
// same point of two rounds far apart.
#pragma once

#include <stdio.h>

#include "atoll/sched.h"
#include "atoll/xenstore.h"

namespace atl::test {

inline bool host_says_stop(xs::Client& client) { return client.read("data/stop").ok(); }

inline bool host_says_pause(xs::Client& client) {
  auto p = client.read("data/pause");
  return p.ok() && *p == "1";
}

// Called between rounds: prints "NAME: round N" every `every` rounds (the
// host reads how far the loop got), and holds while the host asks for a pause.
inline void between_rounds(xs::Client& client, const char* name, unsigned round, unsigned every) {
  if (round % every == 0) printf("%s: round %u\n", name, round);
  if (host_says_pause(client)) {
    printf("%s: paused at round %u\n", name, round);
    fflush(stdout);
    while (host_says_pause(client)) sched::sleep_ns(20'000'000);
    printf("%s: resumed\n", name);
  }
  fflush(stdout);
}

}  // namespace atl::test
