// The request/response rings of split devices (xen/io/ring.h), as a layout
// template and one class per side instead of the RING_* macros. Header-only and
// freestanding: the guest's frontends and the hypervisor's backends share it.
//
// Indices are free-running 32-bit counters (RingIdx). The frontend writes
// req_prod and rsp_event, the backend rsp_prod and req_event. A backend must
// treat everything on the page as hostile: requests are copied out of the slot
// before anything looks at them, and BackRing::overflowed() spots a frontend
// that produced more requests than there are slots.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "atoll/types.h"

namespace atl {

enum class NotifyNeeded { kNo, kYes };

// ABI: xen/io/ring.h, DEFINE_RING_TYPES' struct __name##_sring header: four
// indices, a 4-byte private union and 44 bytes of padding, 64 bytes in all.
struct SharedRingHeader {
  uint32_t req_prod;
  uint32_t req_event;
  uint32_t rsp_prod;
  uint32_t rsp_event;
  uint8_t pvt[4];
  uint8_t pad[44];
};
static_assert(sizeof(SharedRingHeader) == 64);

constexpr uint32_t ring_floor_pow2(size_t n) {
  uint32_t p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

// Where SharedRing::init() starts the indices. Always 0 in the product: a
// backend that predates attaching at the page's indices (Linux's
// BACK_RING_INIT) assumes it. The in-process data path tests
// (tests/unit/dataplane) build the frontends with a start a few slots short of
// 2^32, so every ring they drive wraps its free-running indices.
#ifndef ATOLL_RING_START
#define ATOLL_RING_START 0u
#endif

template <typename Req, typename Rsp, size_t PageSize = 4096>
struct SharedRing {
  static constexpr uint32_t kStart = ATOLL_RING_START;
  union Entry {
    Req req;
    Rsp rsp;
  };
  // ABI: __CONST_RING_SIZE: the largest power of two that fits after the header.
  static constexpr uint32_t kSize = ring_floor_pow2((PageSize - sizeof(SharedRingHeader)) / sizeof(Entry));
  // __RING_SIZE of a ring spanning `pages` contiguous pages (xen/io/blkif.h's
  // ring-page-order): the entries run on past the first page.
  static constexpr uint32_t size_for_pages(size_t pages) {
    return ring_floor_pow2((pages * PageSize - sizeof(SharedRingHeader)) / sizeof(Entry));
  }

  SharedRingHeader header;
  Entry ring[kSize];

  // Entry `i` of a ring of any size (ring[] declares only the first page's).
  Entry& entry(uint32_t i) { return reinterpret_cast<Entry*>(reinterpret_cast<uint8_t*>(this) + sizeof header)[i]; }

  // SHARED_RING_INIT: indices at ATOLL_RING_START (0, as Xen's, outside
  // tests), both event thresholds one past it, so the first message notifies.
  void init() {
    memset(this, 0, sizeof *this);
    header.req_prod = header.rsp_prod = kStart;
    header.req_event = header.rsp_event = kStart + 1;
  }
};

namespace ring_detail {
// ORDERING: indices the peer reads are published with release after the slots
// they cover are written; indices the peer writes are read with acquire before
// the slots they cover are read.
inline RingIdx load(const uint32_t* p) { return RingIdx(__atomic_load_n(p, __ATOMIC_ACQUIRE)); }
inline void store(uint32_t* p, RingIdx v) { __atomic_store_n(p, v.value(), __ATOMIC_RELEASE); }
// ORDERING: a full barrier between publishing our producer index and reading the
// peer's event threshold (and between setting our event threshold and re-reading
// the peer's producer index), or a notification can be lost (xen/io/ring.h).
inline void full_barrier() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline NotifyNeeded notify_needed(RingIdx old_prod, RingIdx new_prod, RingIdx event) {
  return new_prod.distance_from(event) < new_prod.distance_from(old_prod) ? NotifyNeeded::kYes : NotifyNeeded::kNo;
}
}  // namespace ring_detail

template <typename Req, typename Rsp, size_t PageSize = 4096>
class FrontRing {
 public:
  using Shared = SharedRing<Req, Rsp, PageSize>;
  static constexpr uint32_t kSize = Shared::kSize;

  // Takes over a page the caller has initialised (Shared::init()) and granted,
  // at the indices init() left there; `size` is Shared::size_for_pages() for a
  // ring spanning several pages.
  explicit FrontRing(Shared* sring, uint32_t size = kSize)
      : m_sring(sring), m_size(size), m_req_prod_pvt(sring->header.req_prod), m_rsp_cons(sring->header.rsp_prod) {}

  uint32_t size() const { return m_size; }
  uint32_t free_slots() const { return m_size - m_req_prod_pvt.distance_from(m_rsp_cons); }
  bool full() const { return free_slots() == 0; }
  // The slot for the next request; the caller checks !full() first.
  Req& next_request() {
    Req& r = m_sring->entry(m_req_prod_pvt.slot(m_size)).req;
    ++m_req_prod_pvt;
    return r;
  }
  // Makes the requests written since the last push visible to the backend.
  NotifyNeeded push_requests() {
    RingIdx old_prod(m_sring->header.req_prod);
    ring_detail::store(&m_sring->header.req_prod, m_req_prod_pvt);
    ring_detail::full_barrier();
    return ring_detail::notify_needed(old_prod, m_req_prod_pvt, RingIdx(m_sring->header.req_event));
  }
  // Responses the backend produced that we have not taken. A backend claiming
  // more responses than requests outstanding counts as none (and sane() fails).
  uint32_t unconsumed_responses() const {
    uint32_t n = ring_detail::load(&m_sring->header.rsp_prod).distance_from(m_rsp_cons);
    return n > m_req_prod_pvt.distance_from(m_rsp_cons) ? 0 : n;
  }
  bool sane() const {
    return ring_detail::load(&m_sring->header.rsp_prod).distance_from(m_rsp_cons) <=
           m_req_prod_pvt.distance_from(m_rsp_cons);
  }
  // Copies the next response out of its slot; the caller checks unconsumed_responses().
  Rsp take_response() {
    Rsp r;
    memcpy(&r, const_cast<const Rsp*>(&m_sring->entry(m_rsp_cons.slot(m_size)).rsp), sizeof r);
    ++m_rsp_cons;
    return r;
  }
  // RING_FINAL_CHECK_FOR_RESPONSES: asks to be notified of the next response and
  // re-checks, so one that raced with the request is not missed.
  bool final_check_for_responses() {
    if (unconsumed_responses()) return true;
    __atomic_store_n(&m_sring->header.rsp_event, (m_rsp_cons + 1).value(), __ATOMIC_RELAXED);
    ring_detail::full_barrier();
    return unconsumed_responses() != 0;
  }
  RingIdx req_prod_pvt() const { return m_req_prod_pvt; }
  RingIdx rsp_cons() const { return m_rsp_cons; }
  // Tests: start both private indices at `start` (the page's too) to exercise wrap-around.
  void reset_indices(RingIdx start) {
    m_req_prod_pvt = m_rsp_cons = start;
    m_sring->header.req_prod = m_sring->header.rsp_prod = start.value();
    m_sring->header.req_event = m_sring->header.rsp_event = (start + 1).value();
  }

 private:
  Shared* m_sring;
  uint32_t m_size;
  RingIdx m_req_prod_pvt;
  RingIdx m_rsp_cons;
};

template <typename Req, typename Rsp, size_t PageSize = 4096>
class BackRing {
 public:
  using Shared = SharedRing<Req, Rsp, PageSize>;
  static constexpr uint32_t kSize = Shared::kSize;

  // Attaches to a page the frontend initialised; its current indices are the
  // start. `size` is Shared::size_for_pages() for a ring spanning several pages.
  explicit BackRing(Shared* sring, uint32_t size = kSize)
      : m_sring(sring), m_size(size), m_rsp_prod_pvt(sring->header.rsp_prod), m_req_cons(sring->header.rsp_prod) {}

  uint32_t size() const { return m_size; }

  // RING_REQUEST_PROD_OVERFLOW: the frontend's req_prod is more than a ring
  // ahead of our responses; or it ran back behind requests we already took
  // (Linux netback's "Impossible number of requests"), which the first test
  // misses while taken requests are not answered yet. Only a broken or
  // hostile frontend does either.
  bool overflowed() const {
    RingIdx prod = ring_detail::load(&m_sring->header.req_prod);
    return prod.distance_from(m_rsp_prod_pvt) > m_size || prod.distance_from(m_req_cons) > m_size;
  }
  // RING_HAS_UNCONSUMED_REQUESTS: requests produced, limited by free response
  // slots; none from a producer index that cannot be right (overflowed()).
  // Counting those as "limited by free slots" let a backend that answers at
  // once take slots forever: its responses kept freeing room.
  uint32_t unconsumed_requests() const {
    uint32_t reqs = ring_detail::load(&m_sring->header.req_prod).distance_from(m_req_cons);
    if (reqs > m_size) return 0;
    uint32_t rsps = m_size - m_req_cons.distance_from(m_rsp_prod_pvt);
    return reqs < rsps ? reqs : rsps;
  }
  // Copies the next request out of shared memory: validate the copy, never the slot.
  Req take_request() {
    Req r;
    memcpy(&r, const_cast<const Req*>(&m_sring->entry(m_req_cons.slot(m_size)).req), sizeof r);
    ++m_req_cons;
    return r;
  }
  void put_response(const Rsp& rsp) {
    memcpy(&m_sring->entry(m_rsp_prod_pvt.slot(m_size)).rsp, &rsp, sizeof rsp);
    ++m_rsp_prod_pvt;
  }
  NotifyNeeded push_responses() {
    RingIdx old_prod(m_sring->header.rsp_prod);
    ring_detail::store(&m_sring->header.rsp_prod, m_rsp_prod_pvt);
    ring_detail::full_barrier();
    return ring_detail::notify_needed(old_prod, m_rsp_prod_pvt, RingIdx(m_sring->header.rsp_event));
  }
  // RING_FINAL_CHECK_FOR_REQUESTS.
  bool final_check_for_requests() {
    if (unconsumed_requests()) return true;
    __atomic_store_n(&m_sring->header.req_event, (m_req_cons + 1).value(), __ATOMIC_RELAXED);
    ring_detail::full_barrier();
    return unconsumed_requests() != 0;
  }
  RingIdx req_cons() const { return m_req_cons; }
  RingIdx rsp_prod_pvt() const { return m_rsp_prod_pvt; }

 private:
  Shared* m_sring;
  uint32_t m_size;
  RingIdx m_rsp_prod_pvt;
  RingIdx m_req_cons;
};

}  // namespace atl
