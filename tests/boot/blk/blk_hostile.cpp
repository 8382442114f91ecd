// A hostile block frontend: its own ring on the real handshake, then requests
// with every field wrong (operation, segment count, segment sectors, sector
// range, grant refs never made, read-only or granted to another domain). Each
// must come back as an error and a good request still works. Then it overruns
// the ring index: the backend must disconnect the device (Closing), and the
// xenbus handshake brings it back, connected, on a fresh ring. Before any of
// that, its first handshakes offer broken rings (multi-page rings whose pages
// are scattered or repeated, or whose order or ring-ref%u keys are wrong, too
// many queues): the backend must refuse each (Closing) and connect to the
// good ring that follows. The guest exiting 0 under `atoll run` shows the
// hypervisor outlived all of it.
#include <stdlib.h>
#include <string.h>
#include <xen/io/blkif.h>

#include <optional>
#include <string>
#include <vector>

#include "atoll/evtchn.h"
#include "atoll/gnttab.h"
#include "atoll/sched.h"
#include "atoll/shared_ring.h"
#include "atoll/time.h"
#include "atoll/xenbus_device.h"
#include "atoll/xenstore.h"
#include "check.h"

using namespace atl;

namespace {

using Ring = FrontRing<blkif_request, blkif_response>;

// Ring layouts the backend must refuse, one per handshake, before a good one.
enum class BadRing { kScattered, kRepeated, kOrderTooBig, kMissingRingRef, kTooManyQueues };

class HostileFront final : public xs::XenbusDriver {
 public:
  Result<void> on_backend_ready(xs::XenbusDevice& device) override {
    backend = device.backend_id();
    // Three pages: the ring is the first, the third is not adjacent to it.
    page = aligned_alloc(4096, 3 * 4096);
    memset(page, 0, 3 * 4096);
    auto* sring = static_cast<Ring::Shared*>(page);
    sring->init();
    ring.emplace(sring);
    auto ref = gnttab::grant_access(backend, gnttab::virt_to_gfn(page), gnttab::Access::kReadWrite);
    auto p = evtchn::alloc_unbound(backend);
    if (!ref.ok() || !p.ok()) return Errno::kNoSpc;
    ring_ref = *ref;
    port = *p;
    evtchn::bind(*port, [](EvtchnPort, void* q) { static_cast<sched::WaitQueue*>(q)->wake_all(); }, &waiters);
    std::vector<std::pair<std::string, std::string>> keys;
    std::string rref = std::to_string(ring_ref->value());
    offering_bad = !bad_rings.empty();
    if (bad_rings.empty()) {
      keys = {{"ring-ref", rref}};
    } else {
      BadRing bad = bad_rings.front();
      bad_rings.erase(bad_rings.begin());
      switch (bad) {
        case BadRing::kScattered: {
          auto far = gnttab::grant_access(backend, gnttab::virt_to_gfn(static_cast<uint8_t*>(page) + 2 * 4096),
                                          gnttab::Access::kReadWrite);
          if (!far.ok()) return Errno::kNoSpc;
          extra_refs.push_back(*far);
          keys = {{"ring-page-order", "1"}, {"ring-ref0", rref}, {"ring-ref1", std::to_string(far->value())}};
          break;
        }
        case BadRing::kRepeated: keys = {{"ring-page-order", "1"}, {"ring-ref0", rref}, {"ring-ref1", rref}}; break;
        case BadRing::kOrderTooBig:
          keys = {{"ring-page-order", "5"}};
          for (unsigned i = 0; i < 32; ++i) keys.push_back({"ring-ref" + std::to_string(i), rref});
          break;
        case BadRing::kMissingRingRef:  // order 2 wants ring-ref0..3
          keys = {{"ring-page-order", "2"}, {"ring-ref0", rref}, {"ring-ref1", rref}};
          break;
        case BadRing::kTooManyQueues: keys = {{"multi-queue-num-queues", "17"}, {"ring-ref", rref}}; break;
      }
      ++bad_offered;
    }
    keys.push_back({"event-channel", std::to_string(port->value())});
    return xs::transact(device.client(), [&](xs::Transaction& t) -> Result<void> {
      // Keys of an earlier, refused layout must not linger into this one.
      for (const char* stale : {"ring-page-order", "multi-queue-num-queues", "ring-ref"}) (void)t.rm(device.key(stale));
      for (unsigned i = 0; i < 32; ++i) (void)t.rm(device.key("ring-ref" + std::to_string(i)));
      for (auto& [k, v] : keys)
        if (auto r = t.write(device.key(k), v); !r.ok()) return r;
      return Result<void>();
    });
  }
  Result<void> on_connected(xs::XenbusDevice&) override {
    connected = true;
    ++connects;
    if (offering_bad) ++bad_connects;
    waiters.wake_all();
    return {};
  }
  void on_closing(xs::XenbusDevice&) override {
    connected = false;
    saw_closing = true;
    waiters.wake_all();
  }
  void on_closed(xs::XenbusDevice&) override {
    if (port) {
      evtchn::unbind(*port);
      (void)evtchn::close(*port);
    }
    bool released = true;
    for (GrantRef r : extra_refs) released = gnttab::end_access(r) && released;
    extra_refs.clear();
    if (ring_ref && gnttab::end_access(*ring_ref) && released) free(page);
    port.reset();
    ring_ref.reset();
    ring.reset();
    waiters.wake_all();
  }

  // Sends one request and waits (up to 2 s) for its response's status.
  std::optional<int16_t> send(const blkif_request& req) {
    if (!connected || !ring) return std::nullopt;
    ring->next_request() = req;
    if (ring->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*port);
    std::optional<int16_t> status;
    sched::wait_until(
        waiters,
        [&] {
          if (ring && ring->unconsumed_responses()) status = ring->take_response().status;
          return status.has_value();
        },
        time::monotonic_ns() + 2'000'000'000ULL);
    return status;
  }
  bool wait_for(bool (*cond)(HostileFront&)) {
    return sched::wait_until(waiters, [&] { return cond(*this); }, time::monotonic_ns() + 5'000'000'000ULL);
  }

  DomId backend{0};
  void* page = nullptr;
  std::optional<Ring> ring;
  std::optional<GrantRef> ring_ref;
  std::optional<EvtchnPort> port;
  std::vector<GrantRef> extra_refs;  // a scattered ring's second page
  std::vector<BadRing> bad_rings;    // offered first, one per handshake
  int bad_offered = 0;
  bool offering_bad = false;  // the layout of the current handshake is broken
  int bad_connects = 0;       // the backend connected to a broken layout
  sched::WaitQueue waiters;
  bool connected = false;
  bool saw_closing = false;
  int connects = 0;
};

alignas(4096) uint8_t g_data[4096];

blkif_request read_request(uint32_t gref) {
  blkif_request r{};
  r.operation = BLKIF_OP_READ;
  r.id = 7;
  r.nr_segments = 1;
  r.seg[0].gref = gref;
  r.seg[0].first_sect = 0;
  r.seg[0].last_sect = 7;
  return r;
}

}  // namespace

int main() {
  xs::Client* client = xs::client();
  auto ids = client->directory("device/vbd");
  CHECK(ids.ok() && ids->size() == 1, "one vbd in xenstore");
  if (!ids.ok() || ids->empty()) return check_result("blk_hostile");
  HostileFront front;
  front.bad_rings = {BadRing::kScattered, BadRing::kRepeated, BadRing::kOrderTooBig, BadRing::kMissingRingRef,
                     BadRing::kTooManyQueues};
  auto dev = xs::XenbusDevice::try_create(*client, "device/vbd/" + (*ids)[0], front, xs::Handshake::kViaInitialised);
  CHECK(dev.ok() && (*dev)->start().ok(), "handshake started");
  CHECK(front.wait_for([](HostileFront& f) { return f.connected; }), "connected");
  CHECK(front.bad_offered == 5 && front.bad_connects == 0 && front.connects == 1,
        "5 broken ring layouts refused before the good one connected (%d offered)", front.bad_offered);
  front.saw_closing = false;
  auto sectors_text = client->read((*dev)->backend_key("sectors"));
  uint64_t sectors = sectors_text.ok() ? strtoull(sectors_text->c_str(), nullptr, 10) : 0;

  auto good = gnttab::grant_access(front.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadWrite);
  auto ro = gnttab::grant_access(front.backend, gnttab::virt_to_gfn(g_data), gnttab::Access::kReadOnly);
  auto foreign = gnttab::grant_access(DomId(5), gnttab::virt_to_gfn(g_data), gnttab::Access::kReadWrite);
  CHECK(good.ok() && ro.ok() && foreign.ok(), "data grants");
  uint32_t g = good->value();

  auto expect = [&](const char* what, blkif_request req, int16_t want) {
    auto st = front.send(req);
    CHECK(st && *st == want, "%s: status %d", what, st ? *st : 99);
  };
  blkif_request r = read_request(g);
  r.operation = 99;
  expect("unknown operation", r, BLKIF_RSP_EOPNOTSUPP);
  auto discard = [](uint64_t sector, uint64_t n) {
    blkif_request_discard d{};
    d.operation = BLKIF_OP_DISCARD;
    d.sector_number = sector;
    d.nr_sectors = n;
    blkif_request req{};
    memcpy(&req, &d, sizeof d);
    return req;
  };
  expect("discard across the end", discard(sectors - 8, 16), BLKIF_RSP_ERROR);
  expect("discard wrapping around", discard(8, UINT64_MAX), BLKIF_RSP_ERROR);
  expect("discard of nothing", discard(0, 0), BLKIF_RSP_ERROR);
  r = read_request(g);
  r.nr_segments = 0;
  expect("no segments", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
  expect("12 segments", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.seg[0].first_sect = 5;
  r.seg[0].last_sect = 4;
  expect("first_sect > last_sect", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.seg[0].last_sect = 8;
  expect("last_sect past the page", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.sector_number = sectors;
  expect("sector past the end", r, BLKIF_RSP_ERROR);
  r = read_request(g);
  r.sector_number = UINT64_MAX - 2;
  expect("sector range wrapping 2^64", r, BLKIF_RSP_ERROR);
  expect("a grant ref never made", read_request(4000), BLKIF_RSP_ERROR);
  expect("a grant ref past the table", read_request(0xFFFFFFF0u), BLKIF_RSP_ERROR);
  expect("a read into a read-only grant", read_request(ro->value()), BLKIF_RSP_ERROR);
  expect("a grant made to another domain", read_request(foreign->value()), BLKIF_RSP_ERROR);
  expect("a good read still works", read_request(g), BLKIF_RSP_OKAY);

  // Overrun: claim a ring and a half of requests at once.
  auto* sring = static_cast<Ring::Shared*>(front.page);
  __atomic_store_n(&sring->header.req_prod, front.ring->req_prod_pvt().value() + Ring::kSize + 16, __ATOMIC_RELEASE);
  (void)evtchn::send(*front.port);
  CHECK(front.wait_for([](HostileFront& f) { return f.saw_closing; }), "the backend disconnected the overrun ring");
  CHECK(front.wait_for([](HostileFront& f) { return f.connected && f.connects == 2; }),
        "the device reconnected on a fresh ring");
  g_data[0] = 0xAB;
  expect("a read on the new ring works", read_request(g), BLKIF_RSP_OKAY);
  CHECK(g_data[0] == 0, "and it read the (zeroed) disk");
  return check_result("blk_hostile");
}
