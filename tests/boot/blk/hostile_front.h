// A block frontend that speaks blkif by hand, for guests that attack blkback:
// its own ring on the real xenbus handshake (broken ring layouts first, if
// asked), one request at a time or the raw ring for anything else. Used by
// tests/boot/blk/blk_hostile.cpp and the stateful attacks in tests/hostile/.
#pragma once

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

namespace atl::test {

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
    auto written = xs::transact(device.client(), [&](xs::Transaction& t) -> Result<void> {
      // Keys of an earlier, refused layout must not linger into this one.
      for (const char* stale : {"ring-page-order", "multi-queue-num-queues", "ring-ref"}) (void)t.rm(device.key(stale));
      for (unsigned i = 0; i < 32; ++i) (void)t.rm(device.key("ring-ref" + std::to_string(i)));
      for (auto& [k, v] : keys)
        if (auto r = t.write(device.key(k), v); !r.ok()) return r;
      return Result<void>();
    });
    waiters.wake_all();  // the ring is offered (reconnect_loop closes here)
    return written;
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
    released = (!ring_ref || gnttab::end_access(*ring_ref)) && released;
    released_all = released;  // false: the backend still maps the ring
    if (released) free(page);
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
          if (ring && ring->unconsumed_responses()) {
            last_response = ring->take_response();
            status = last_response.status;
          }
          return status.has_value();
        },
        time::monotonic_ns() + 2'000'000'000ULL);
    return status;
  }
  bool wait_for(bool (*cond)(HostileFront&)) {
    return sched::wait_until(waiters, [&] { return cond(*this); }, time::monotonic_ns() + 5'000'000'000ULL);
  }

  DomId backend{0};
  blkif_response last_response{};  // every byte, padding included, as the backend wrote it
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
  bool released_all = true;  // the last close ended every ring grant
  int connects = 0;
};

// A one-segment read of sectors 0..7 into the page `gref` names.
inline blkif_request read_request(uint32_t gref) {
  blkif_request r{};
  r.operation = BLKIF_OP_READ;
  r.id = 7;
  r.nr_segments = 1;
  r.seg[0].gref = gref;
  r.seg[0].first_sect = 0;
  r.seg[0].last_sect = 7;
  return r;
}

}  // namespace atl::test
