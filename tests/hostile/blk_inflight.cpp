// A block frontend that attacks blkback while its requests are in flight, on
// a disk that holds run_blk_test.py's pattern, round after round until the
// host writes data/stop:
//
//  * even rounds: a full ring of reads (32, each of 8 sectors into a page of
//    its own), then, once the backend has taken them, each request's
//    sector_number and segment rewritten in the ring (a double fetch would
//    read another sector, or a grant ref never made) and each data grant
//    revoked. Every request must be answered once: OK with the bytes of the
//    sectors it named when it was sent, or an error if the backend took it
//    only after the rewrite or the revoke (it may take requests late; it may
//    not validate one version and act on another). A revoke the backend
//    refuses is a grant it holds mapped, and must work once it has answered.
//    Then the producer index is run backwards, behind requests it has taken.
//  * odd rounds: a full ring of reads, and at once the producer index far
//    ahead, while they are in flight.
//  * every third round instead: a full ring of reads, and at once the
//    frontend closes the device (Closing) while they are in flight. The
//    backend must finish or drop them and let go of everything: once the
//    device is Closed, the ring's and every data page's grant can be ended.
//    Then the device is reopened and connects on a fresh ring.
//
// Either index must cost the device its ring (Closing) and nothing else: the
// handshake brings it back on a fresh ring, and after the disconnect every
// data grant can be revoked (the backend left none mapped). So the frontend
// reconnects once a round, in a loop.
#include <stdio.h>

#include <functional>

#include "blk/hostile_front.h"
#include "check.h"
#include "hostile_device.h"

using namespace atl;
using namespace atl::test;

namespace {

constexpr unsigned kSlots = Ring::kSize;  // 32 requests fill a one-page ring
alignas(4096) uint8_t g_pages[kSlots][4096];

// run_blk_test.py's pattern: 64-bit word k of the disk.
uint64_t pattern_word(uint64_t k) {
  uint64_t x = (k + 1) * 0x9E3779B97F4A7C15ULL;
  return x ^ (x >> 29);
}

bool page_holds_sectors(const uint8_t* page, uint64_t sector) {
  const uint64_t first = sector * 512 / 8;
  for (unsigned w = 0; w < 4096 / 8; ++w) {
    uint64_t v;
    memcpy(&v, page + w * 8, 8);
    if (v != pattern_word(first + w)) return false;
  }
  return true;
}

uint64_t sector_of(unsigned round, unsigned i) { return (static_cast<uint64_t>(round) * kSlots + i) * 8 % 32768; }

bool wait_until(HostileFront& f, const std::function<bool()>& done) {
  // A bound against a hang only: a healthy backend answers in milliseconds.
  return sched::wait_until(f.waiters, done, time::monotonic_ns() + 30'000'000'000ULL);
}

struct Tally {
  unsigned rounds = 0, answered = 0, bad_answers = 0, wrong_bytes = 0, revokes_refused = 0, left_mapped = 0;
  unsigned taken_late = 0;  // answered with an error: taken after the rewrite or the revoke
  unsigned reconnect_failures = 0, closes = 0;
};

// Puts a full ring of reads on the ring and notifies: the backend takes them
// inside the notification. Returns their grants.
std::vector<GrantRef> send_full_ring(HostileFront& f, unsigned round) {
  std::vector<GrantRef> refs;
  for (unsigned i = 0; i < kSlots; ++i) {
    memset(g_pages[i], 0xEE, 4096);
    auto ref = gnttab::grant_access(f.backend, gnttab::virt_to_gfn(g_pages[i]), gnttab::Access::kReadWrite);
    if (!ref.ok()) break;
    refs.push_back(*ref);
    blkif_request r = read_request(ref->value());
    r.id = i;
    r.sector_number = sector_of(round, i);
    f.ring->next_request() = r;
  }
  (void)f.ring->push_requests();
  (void)evtchn::send(*f.port);
  return refs;
}

// Rewrites what a request names after the backend took it. Only bytes 16..111
// (the sector and the segments): bytes 0..15 are where its response lands.
void rewrite_taken_requests(HostileFront& f) {
  auto* sring = static_cast<Ring::Shared*>(f.page);
  for (unsigned s = 0; s < kSlots; ++s) {
    blkif_request& slot = sring->entry(s).req;
    // ORDERING: the grant first, so a backend that takes the slot between
    // the two stores sees a request that fails, never the old grant with
    // the new sector.
    __atomic_store_n(&slot.seg[0].gref, 0xFFFFFFF0u, __ATOMIC_RELAXED);
    __atomic_store_n(&slot.sector_number, slot.sector_number + 4096, __ATOMIC_RELEASE);
  }
}

void answered_round(HostileFront& f, unsigned round, Tally& t) {
  std::vector<GrantRef> refs = send_full_ring(f, round);
  rewrite_taken_requests(f);
  std::vector<bool> held(refs.size(), false);
  for (size_t i = 0; i < refs.size(); ++i)
    if (!gnttab::end_access(refs[i])) {
      held[i] = true;
      ++t.revokes_refused;
    }
  std::vector<unsigned> seen(kSlots, 0);
  std::vector<int16_t> status(kSlots, BLKIF_RSP_ERROR);
  unsigned got = 0;
  wait_until(f, [&] {
    while (f.ring && f.ring->unconsumed_responses()) {
      blkif_response rsp = f.ring->take_response();
      ++got;
      if (rsp.id >= kSlots || seen[rsp.id]++ || (rsp.status != BLKIF_RSP_OKAY && rsp.status != BLKIF_RSP_ERROR)) {
        ++t.bad_answers;
        continue;
      }
      status[rsp.id] = rsp.status;
      t.taken_late += rsp.status == BLKIF_RSP_ERROR;
    }
    return got >= refs.size();
  });
  t.answered += got;
  if (got != refs.size()) t.bad_answers += static_cast<unsigned>(refs.size()) - got;
  for (unsigned i = 0; i < refs.size(); ++i) {
    if (status[i] == BLKIF_RSP_OKAY && !page_holds_sectors(g_pages[i], sector_of(round, i))) ++t.wrong_bytes;
    if (held[i] && !gnttab::end_access(refs[i])) ++t.left_mapped;
  }
}

void torn_round(HostileFront& f, unsigned round, Tally& t, bool backwards) {
  std::vector<GrantRef> refs;
  if (backwards) {
    answered_round(f, round, t);
  } else {
    refs = send_full_ring(f, round);
  }
  auto* sring = static_cast<Ring::Shared*>(f.page);
  RingIdx prod = f.ring->req_prod_pvt();
  uint32_t bogus = backwards ? prod.value() - kSlots - 8 : prod.value() + 1000;
  __atomic_store_n(&sring->header.req_prod, bogus, __ATOMIC_RELEASE);
  int connects = f.connects;
  (void)evtchn::send(*f.port);
  if (!wait_until(f, [&] { return f.connected && f.connects == connects + 1; })) ++t.reconnect_failures;
  for (GrantRef r : refs)
    if (!gnttab::end_access(r)) ++t.left_mapped;
}

// The frontend closes the device with a full ring in flight.
void closed_round(HostileFront& f, xs::XenbusDevice& device, unsigned round, Tally& t) {
  std::vector<GrantRef> refs = send_full_ring(f, round);
  ++t.closes;
  if (!close_until_released(device, f, [&] { return !f.ring; })) ++t.left_mapped;
  for (GrantRef r : refs)
    if (!gnttab::end_access(r)) ++t.left_mapped;
  if (!reopen_until_connected(device, f)) ++t.reconnect_failures;
}

}  // namespace

int main() {
  xs::Client* client = xs::client();
  HostileFront front;
  auto dev = open_only_device(*client, "vbd", front, xs::Handshake::kViaInitialised);
  if (!dev) return check_result("blk_inflight");
  CHECK(dev->start().ok(), "handshake started");
  CHECK(wait_until(front, [&] { return front.connected; }), "connected");
  if (!front.connected) return check_result("blk_inflight");

  printf("blk_inflight: attacking\n");
  fflush(stdout);
  Tally t;
  // Every kind of round runs at least once, however soon the host says stop.
  while ((t.rounds < 3 || !client->read("data/stop").ok()) && front.connected) {
    if (t.rounds % 3 == 2)
      closed_round(front, *dev, t.rounds, t);
    else
      torn_round(front, t.rounds, t, t.rounds % 2 == 0);
    ++t.rounds;
  }
  printf("blk_inflight: %u rounds, %u answers (%u errors: taken after the rewrite), %u revokes refused while in flight, "
         "%u closes mid-request\n",
         t.rounds, t.answered, t.taken_late, t.revokes_refused, t.closes);
  CHECK(t.rounds >= 3, "every kind of round ran (%u rounds)", t.rounds);
  CHECK(t.bad_answers == 0, "every request answered once, OK or an error (%u not)", t.bad_answers);
  CHECK(t.wrong_bytes == 0, "every page read OK holds the sectors its request named when sent (%u do not)",
        t.wrong_bytes);
  CHECK(t.left_mapped == 0, "no grant was left mapped after its answer or a disconnect (%u were)", t.left_mapped);
  CHECK(t.reconnect_failures == 0 && front.connects == static_cast<int>(t.rounds) + 1,
        "each bad index and each close cost one reconnect (%d connects, %u rounds)", front.connects, t.rounds);
  CHECK(front.connected, "connected at the end");
  return check_result("blk_inflight");
}
