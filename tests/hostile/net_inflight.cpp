// A network frontend that attacks netback while its transmit requests are in
// flight, on one of the daemon's switches, round after round until the host
// writes data/stop. Each round pushes a batch of valid one-slot frames (to its
// own MAC: the switch learned it on this port, so they go nowhere) and at once:
//
//  * double fetch: rewrites every slot the backend may be reading: its offset
//    and size past the page, its id to one never used. A backend that copies
//    a slot once and checks the copy answers each slot once, under the id it
//    read: OKAY (it took the slot before the rewrite, or saw only the new id)
//    or ERROR (it saw a bad field). One that validated one version and acted
//    on another answers a slot twice or under an id it never took.
//  * revoke and reuse: ends the one grant every frame of the batch names and
//    makes the same grant ref again, to another domain, for another page.
//    Each slot is answered once, OKAY (copied before the revoke) or ERROR; a
//    revoke refused means the backend holds the grant, and must work once it
//    has answered.
//  * disconnect mid-request: closes the device (Closing) before the backend
//    answered. Netback must let go of its rings (every ring grant can be ended
//    once the device is Closed), and the device must connect again on fresh
//    rings when reopened.
//
// The hypervisor must answer all of it without a crash, and the neighbours on
// the same switch (run_neighbour.py --net-neighbour) must not notice.
#include <stdio.h>

#include <functional>

#include "check.h"
#include "hostile_device.h"
#include "net/hostile_vif.h"

using namespace atl;
using namespace atl::test;

namespace {

constexpr unsigned kBatch = 64;  // one-slot packets per round: a quarter of the ring
constexpr uint16_t kFrame = 600;
alignas(kPage) uint8_t g_data[kPage];
alignas(kPage) uint8_t g_other[kPage];

enum class Attack { kDoubleFetch, kRevokeReuse, kDisconnect };
const char* name_of(Attack a) {
  switch (a) {
    case Attack::kDoubleFetch: return "double fetch";
    case Attack::kRevokeReuse: return "revoke and reuse";
    case Attack::kDisconnect: return "disconnect mid-request";
  }
  return "?";
}

struct Tally {
  unsigned rounds = 0, answers = 0, errors = 0, bad_answers = 0, unanswered = 0;
  unsigned revokes_refused = 0, left_held = 0, refs_reused = 0;
  unsigned closes = 0, rings_left_mapped = 0, reconnect_failures = 0;
};

bool wait_until(HostileVif& v, uint64_t ns, const std::function<bool()>& done) {
  // A bound against a hang only: a healthy backend answers in milliseconds.
  return sched::wait_until(v.waiters, done, after(ns));
}

// Pushes kBatch frames, each naming `gref`, with ids base..base+kBatch-1.
void push_batch(HostileVif& v, uint32_t gref, uint16_t base) {
  for (unsigned i = 0; i < kBatch; ++i)
    v.tx->next_request() = frag(gref, 0, kFrame, 0, static_cast<uint16_t>(base + i));
  (void)v.tx->push_requests();
  (void)evtchn::send(*v.port);
}

// Rewrites the batch's slots in the shared ring, as the backend may read
// them: bytes 4..11 only (offset, flags, id, size), since bytes 0..3 of a
// slot the backend answered already hold its response.
void rewrite_batch(HostileVif& v, uint16_t base) {
  auto* sring = static_cast<TxRing::Shared*>(v.tx_page);
  RingIdx end = v.tx->req_prod_pvt();
  for (unsigned i = 0; i < kBatch; ++i) {
    netif_tx_request& slot = sring->entry((end.value() - kBatch + i) % TxRing::kSize).req;
    // ORDERING: the offset and size first, the id last: every mixture of
    // old and new fields but the new id alone is a bad request (past the
    // page, or 4000 bytes without GSO), which the backend must see as one
    // whatever it copied.
    __atomic_store_n(&slot.offset, static_cast<uint16_t>(4000), __ATOMIC_RELAXED);
    __atomic_store_n(&slot.size, static_cast<uint16_t>(4000), __ATOMIC_RELAXED);
    __atomic_store_n(&slot.id, static_cast<uint16_t>(base + i + 0x8000), __ATOMIC_RELEASE);
  }
}

// Takes the batch's answers: each slot once, under its id or its rewritten one.
void take_answers(HostileVif& v, uint16_t base, bool rewritten, Tally& t) {
  std::vector<unsigned> seen(kBatch, 0);
  unsigned got = 0;
  wait_until(v, 30'000'000'000ULL, [&] {
    if (!v.tx) return true;
    do {
      while (v.tx->unconsumed_responses()) {
        netif_tx_response rsp = v.tx->take_response();
        ++got;
        uint16_t id = rsp.id;
        bool moved = rewritten && id >= 0x8000;
        unsigned slot = static_cast<uint16_t>((moved ? id - 0x8000 : id) - base);
        bool known = slot < kBatch && (rsp.status == NETIF_RSP_OKAY || rsp.status == NETIF_RSP_ERROR);
        if (!known || seen[slot]++) {
          ++t.bad_answers;
          continue;
        }
        t.errors += rsp.status == NETIF_RSP_ERROR;
      }
    } while (got < kBatch && v.tx->final_check_for_responses());
    return got >= kBatch;
  });
  t.answers += got;
  if (got < kBatch) t.unanswered += kBatch - got;
}

void double_fetch_round(HostileVif& v, uint32_t gref, uint16_t base, Tally& t) {
  push_batch(v, gref, base);
  rewrite_batch(v, base);
  take_answers(v, base, true, t);
}

void revoke_round(HostileVif& v, GrantRef& data, uint16_t base, Tally& t) {
  push_batch(v, data.value(), base);
  bool revoked = gnttab::end_access(data);
  std::optional<GrantRef> reused;
  if (revoked) {
    auto again = gnttab::grant_access(DomId(5), gnttab::virt_to_gfn(g_other), gnttab::Access::kReadWrite);
    if (again.ok()) reused = *again;
    t.refs_reused += reused && reused->value() == data.value();
  } else {
    ++t.revokes_refused;
  }
  take_answers(v, base, false, t);
  if (!revoked && !gnttab::end_access(data)) ++t.left_held;
  if (reused && !gnttab::end_access(*reused)) ++t.left_held;
  auto fresh = gnttab::grant_access(v.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadOnly);
  if (fresh.ok()) data = *fresh;
}

void disconnect_round(HostileVif& v, xs::XenbusDevice& device, uint32_t gref, uint16_t base, Tally& t) {
  push_batch(v, gref, base);
  ++t.closes;
  // The close runs on the xenstore thread's watch: Closed once the backend followed.
  if (!close_until_released(device, v, [&] { return !v.tx; })) ++t.rings_left_mapped;
  if (!reopen_until_connected(device, v)) ++t.reconnect_failures;
}

}  // namespace

int main() {
  xs::Client* client = xs::client();
  HostileVif vif;
  auto dev = open_only_device(*client, "vif", vif, xs::Handshake::kConnectDirectly);
  if (!dev) return check_result("net_inflight");
  xs::XenbusDevice& device = *dev;
  std::optional<GrantRef> data = connect_with_frame_to_self(device, vif, g_data);
  if (!data) return check_result("net_inflight");
  GrantRef grant = *data;

  printf("net_inflight: attacking\n");
  fflush(stdout);
  Tally t;
  uint16_t base = 0;
  // Every kind of round runs at least once, however soon the host says stop.
  while (t.rounds < 3 || !client->read("data/stop").ok()) {
    Attack a = static_cast<Attack>(t.rounds % 3);
    if (!vif.connected) break;
    switch (a) {
      case Attack::kDoubleFetch: double_fetch_round(vif, grant.value(), base, t); break;
      case Attack::kRevokeReuse: revoke_round(vif, grant, base, t); break;
      case Attack::kDisconnect: disconnect_round(vif, device, grant.value(), base, t); break;
    }
    if (t.bad_answers || t.unanswered || t.rings_left_mapped || t.reconnect_failures) {
      printf("net_inflight: round %u (%s) went wrong\n", t.rounds, name_of(a));
      break;
    }
    base = static_cast<uint16_t>((base + kBatch) % 0x4000);
    ++t.rounds;
    vif.poll_rx();
  }
  printf("net_inflight: %u rounds, %u answers (%u errors), %u revokes refused in flight, %u refs reused, %u closes\n",
         t.rounds, t.answers, t.errors, t.revokes_refused, t.refs_reused, t.closes);
  CHECK(t.rounds >= 3, "every kind of round ran (%u rounds)", t.rounds);
  CHECK(t.bad_answers == 0, "every slot answered at most once, OKAY or ERROR, under its id (%u not)", t.bad_answers);
  CHECK(t.unanswered == 0, "every slot of a connected ring answered (%u not)", t.unanswered);
  CHECK(t.left_held == 0, "no data grant left held after its answers (%u were)", t.left_held);
  CHECK(t.rings_left_mapped == 0, "the rings let go after each close (%u not)", t.rings_left_mapped);
  CHECK(t.reconnect_failures == 0, "each reopen connected again (%u did not)", t.reconnect_failures);
  CHECK(vif.connected, "connected at the end");
  return check_result("net_inflight");
}
