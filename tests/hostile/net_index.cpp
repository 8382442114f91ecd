// A network frontend that runs the producer index of its rings backwards and
// far ahead while its transmit requests are in flight, on one of the daemon's
// switches, round after round until the host writes data/stop.
//
// Each round pushes a batch of valid one-slot frames (to its own MAC: the
// switch learned it on this port, so they go nowhere). The vif is rate-limited
// (run_neighbour.py --net-neighbour), so netback takes a part of the batch at
// once and leaves the rest on the ring for its refill timer: those requests
// are in flight. Then the round writes one impossible req_prod:
//
//  * tx backwards: one behind the last request netback answered (it takes and
//    answers a one-slot frame together), so behind requests it has taken;
//    once with a notification, once left for the refill timer to find;
//  * tx far ahead: 1000 past the index it pushed, and half the index space
//    past it (neither "ahead" nor "behind" by the sign of the difference);
//  * rx backwards and far ahead, the same way, on the ring of posted receive
//    buffers, with the tx batch still in flight.
//
// The vif asks for two queues and attacks on the first; the second stays
// idle, so that netback's refill timer, which drains every queue in turn, has
// one more to go to after the first cost the device its rings.
//
// Netback must take each as the end of that device's rings: Closing (and a
// log line the host checks), let go of both rings and the data grant, and
// connect again on fresh rings when the frontend follows the handshake round.
// So every round costs exactly one reconnect, and nothing else: no crash, no
// hang, and the neighbours on the switch do not notice.
#include <stdio.h>

#include <functional>

#include "check.h"
#include "host_control.h"
#include "hostile_device.h"
#include "net/hostile_vif.h"

using namespace atl;
using namespace atl::test;

namespace {

// 76,800 bytes a batch, against the vif's 10,000 bytes of credit each 10 ms:
// netback takes the batch over about 80 ms of refill timers.
constexpr unsigned kBatch = 128;
constexpr uint16_t kFrame = 600;
alignas(kPage) uint8_t g_data[kPage];

enum class Attack { kTxBackwards, kTxBackwardsOnTimer, kTxAhead, kTxHalfway, kRxBackwards, kRxAhead, kRxHalfway };
constexpr unsigned kAttacks = 7;

const char* name_of(Attack a) {
  switch (a) {
    case Attack::kTxBackwards: return "tx backwards";
    case Attack::kTxBackwardsOnTimer: return "tx backwards, found by the refill timer";
    case Attack::kTxAhead: return "tx 1000 ahead";
    case Attack::kTxHalfway: return "tx 2^31 ahead";
    case Attack::kRxBackwards: return "rx backwards";
    case Attack::kRxAhead: return "rx 1000 ahead";
    case Attack::kRxHalfway: return "rx 2^31 ahead";
  }
  return "?";
}

bool on_tx(Attack a) { return a <= Attack::kTxHalfway; }

struct Tally {
  unsigned rounds = 0, timer_rounds = 0, timer_caught = 0;
  unsigned reconnect_failures = 0, no_closing = 0, rings_left_mapped = 0, grants_left_held = 0;
};

bool wait_until(HostileVif& v, uint64_t ns, const std::function<bool()>& done) {
  // A bound against a hang only: a healthy backend answers in milliseconds.
  return sched::wait_until(v.waiters, done, after(ns));
}

void push_batch(HostileVif& v, uint32_t gref) {
  for (unsigned i = 0; i < kBatch; ++i) v.tx->next_request() = frag(gref, 0, kFrame, 0, static_cast<uint16_t>(i));
  (void)v.tx->push_requests();
  (void)evtchn::send(*v.port);
}

SharedRingHeader& header_of(HostileVif& v, Attack a) {
  return on_tx(a) ? static_cast<TxRing::Shared*>(v.tx_page)->header : static_cast<RxRing::Shared*>(v.rx_page)->header;
}

// The index the round writes, from what the ring holds now.
uint32_t bad_index(HostileVif& v, Attack a, SharedRingHeader& header) {
  uint32_t pushed = on_tx(a) ? v.tx->req_prod_pvt().value() : v.rx->req_prod_pvt().value();
  // ORDERING: acquire, as a response's reader: whatever netback answered up
  // to here, it took. Anything it answers later moves it further ahead.
  uint32_t answered = __atomic_load_n(&header.rsp_prod, __ATOMIC_ACQUIRE);
  switch (a) {
    case Attack::kTxBackwards:
    case Attack::kTxBackwardsOnTimer:
    case Attack::kRxBackwards: return answered - 1;
    case Attack::kTxAhead:
    case Attack::kRxAhead: return pushed + 1000;
    case Attack::kTxHalfway:
    case Attack::kRxHalfway: return pushed + 0x80000000u;
  }
  return pushed;
}

void attack_round(HostileVif& v, Attack a, uint32_t gref, Tally& t) {
  int connects = v.connects;
  v.saw_closing = false;
  push_batch(v, gref);
  SharedRingHeader& header = header_of(v, a);
  // ORDERING: release, as a producer publishes its index.
  __atomic_store_n(&header.req_prod, bad_index(v, a, header), __ATOMIC_RELEASE);
  auto reconnected = [&] { return v.connected && v.connects == connects + 1; };
  if (a == Attack::kTxBackwardsOnTimer) {
    // No notification: the refill timer drains the rest of the batch and
    // must find the index. If the timer had drained the whole batch before
    // the store (a guest descheduled for tens of ms), it is not armed any
    // more, and a notification does the job instead.
    ++t.timer_rounds;
    if (wait_until(v, 5'000'000'000ULL, [&] { return v.saw_closing || !v.connected; }))
      ++t.timer_caught;
    else
      (void)evtchn::send(*v.port);
  } else {
    (void)evtchn::send(*v.port);
  }
  if (!wait_until(v, 60'000'000'000ULL, reconnected)) ++t.reconnect_failures;
  if (!v.saw_closing) ++t.no_closing;
  if (!v.released_all) ++t.rings_left_mapped;
}

}  // namespace

int main() {
  xs::Client* client = xs::client();
  HostileVif vif;
  // A second queue, idle: netback's refill timer then drains two queues, and
  // must stop at the first when that one costs the device its rings.
  vif.idle_second_queue = true;
  auto dev = open_only_device(*client, "vif", vif, xs::Handshake::kConnectDirectly);
  if (!dev) return check_result("net_index");
  std::optional<GrantRef> data = connect_with_frame_to_self(*dev, vif, g_data);
  if (!data) return check_result("net_index");
  GrantRef grant = *data;

  printf("net_index: attacking\n");
  fflush(stdout);
  Tally t;
  // Every kind of round runs at least once, however soon the host says stop.
  while (t.rounds < kAttacks || !host_says_stop(*client)) {
    Attack a = static_cast<Attack>(t.rounds % kAttacks);
    attack_round(vif, a, grant.value(), t);
    // The backend copies tx data with grant copies and never keeps it
    // mapped: after the disconnect the grant must end at once.
    if (!gnttab::end_access(grant)) ++t.grants_left_held;
    auto again = gnttab::grant_access(vif.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadOnly);
    if (t.reconnect_failures || t.no_closing || t.rings_left_mapped || t.grants_left_held || !again.ok()) {
      printf("net_index: round %u (%s) went wrong\n", t.rounds, name_of(a));
      break;
    }
    grant = *again;
    ++t.rounds;
    between_rounds(*client, "net_index", t.rounds, 10);
  }
  printf("net_index: %u rounds, %d connects; %u of %u timer rounds found by the refill timer\n", t.rounds,
         vif.connects, t.timer_caught, t.timer_rounds);
  CHECK(t.rounds >= kAttacks, "every kind of round ran (%u rounds)", t.rounds);
  CHECK(t.no_closing == 0, "each bad index made netback close the device (%u did not)", t.no_closing);
  CHECK(t.reconnect_failures == 0 && vif.connects == static_cast<int>(t.rounds) + 1,
        "each bad index cost one reconnect (%d connects, %u rounds)", vif.connects, t.rounds);
  CHECK(t.rings_left_mapped == 0, "the rings let go after each disconnect (%u not)", t.rings_left_mapped);
  CHECK(t.grants_left_held == 0, "the data grant ended after each disconnect (%u not)", t.grants_left_held);
  CHECK(t.timer_rounds < 3 || t.timer_caught > 0, "the refill timer found a bad index (%u of %u rounds)",
        t.timer_caught, t.timer_rounds);
  CHECK(vif.connected, "connected at the end");
  return check_result("net_index");
}
