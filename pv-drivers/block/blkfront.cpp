// blkfront's data path: the ring page, the persistent grant pool, the FIFO of
// requests waiting for a slot (merged when adjacent) and the responses.
#include "blkfront.h"

#include <stdlib.h>
#include <string.h>

#include "atoll/evtchn.h"
#include "atoll/gnttab.h"
#include "atoll/kernel.h"
#include "atoll/time.h"

namespace atl::blk {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kSectorsPerPage = kPage / BlkFront::kSectorSize;
constexpr size_t kBufferAlignMax = size_t{1} << 20;
// ABI: xen/io/blkif.h, struct blkif_request: the layout both sides agree on.
static_assert(sizeof(blkif_request) == 112 && sizeof(blkif_response) == 16);
static_assert(BlkifFrontRing::kSize == 32);
static_assert(BlkifFrontRing::Shared::size_for_pages(16) == 512);
// ABI: xen/io/blkif.h, struct blkif_request_indirect shares the ring slot.
static_assert(sizeof(blkif_request_indirect) <= sizeof(blkif_request));
// One indirect page holds every segment we send.
static_assert(BlkFront::kMaxIndirectSegments <= kPage / sizeof(blkif_request_segment));

uint8_t ring_operation(Op op) {
  switch (op) {
    case Op::kRead: return BLKIF_OP_READ;
    case Op::kWrite: return BLKIF_OP_WRITE;
    case Op::kWriteFlush:
    case Op::kFlush: return BLKIF_OP_FLUSH_DISKCACHE;
    case Op::kDiscard: return BLKIF_OP_DISCARD;
  }
  return BLKIF_OP_READ;
}

bool carries_data(Op op) { return op == Op::kRead || op == Op::kWrite || op == Op::kWriteFlush; }

// Copies between a caller's buffer and a slot's pages, `at` bytes into the pages.
template <typename Pages>
void copy_to_pages(const Pages& pages, size_t at, const uint8_t* src, size_t bytes) {
  while (bytes) {
    size_t n = kPage - at % kPage < bytes ? kPage - at % kPage : bytes;
    memcpy(static_cast<uint8_t*>(pages[at / kPage].va) + at % kPage, src, n);
    at += n, src += n, bytes -= n;
  }
}
template <typename Pages>
void copy_from_pages(const Pages& pages, size_t at, uint8_t* dst, size_t bytes) {
  while (bytes) {
    size_t n = kPage - at % kPage < bytes ? kPage - at % kPage : bytes;
    memcpy(dst, static_cast<const uint8_t*>(pages[at / kPage].va) + at % kPage, n);
    at += n, dst += n, bytes -= n;
  }
}

}  // namespace

std::optional<PooledPage> BlkFront::PageGranter::grant_page() {
  void* va = aligned_alloc(kPage, kPage);
  if (!va) return std::nullopt;
  // Read-write, as feature-persistent requires: the same page serves reads and writes.
  auto ref = gnttab::grant_access(backend, gnttab::virt_to_gfn(va), gnttab::Access::kReadWrite);
  if (!ref.ok()) {
    free(va);
    return std::nullopt;
  }
  return PooledPage{va, *ref};
}

bool BlkFront::PageGranter::end_grant(const PooledPage& page) { return gnttab::end_access(page.ref); }

void BlkFront::PageGranter::free_page(const PooledPage& page) { free(page.va); }

Result<void> BlkFront::setup_ring(DomId backend, unsigned queues, unsigned order) {
  m_backend = backend;
  m_ring_page_order = order;
  m_next_queue = 0;
  m_pool.emplace(PageGranter{backend}, kPoolPages);
  size_t pages = size_t{1} << order;
  uint32_t size = BlkifFrontRing::Shared::size_for_pages(pages);
  m_queues.resize(queues);
  for (Queue& q : m_queues) {
    // One allocation: the pages are contiguous in guest-physical memory, as
    // the backend requires of a multi-page ring.
    q.pages = aligned_alloc(kPage, pages * kPage);
    if (!q.pages) return Errno::kNoMem;
    memset(q.pages, 0, pages * kPage);
    auto* sring = static_cast<BlkifFrontRing::Shared*>(q.pages);
    sring->init();
    q.ring.emplace(sring, size);
    for (size_t i = 0; i < pages; ++i) {
      auto ref = gnttab::grant_access(backend, gnttab::virt_to_gfn(static_cast<uint8_t*>(q.pages) + i * kPage),
                                      gnttab::Access::kReadWrite);
      if (!ref.ok()) return ref.error();
      q.refs[i] = *ref;
    }
    auto port = evtchn::alloc_unbound(backend);
    if (!port.ok()) return port.error();
    q.port = *port;
    evtchn::bind(*port, &BlkFront::on_event, this);
  }
  return {};
}

void BlkFront::free_ring() {
  fail_pending();
  for (Queue& q : m_queues) {
    if (q.port) {
      evtchn::unbind(*q.port);
      (void)evtchn::close(*q.port);
    }
    // The backend is Closed (or gone) before this runs, so nothing is mapped.
    bool mapped = false;
    for (auto& ref : q.refs)
      if (ref && !gnttab::end_access(*ref)) mapped = true;
    if (mapped) kernel::console_print("blkfront: the backend still maps a ring; leaking its pages\n");
    else free(q.pages);
  }
  m_queues.clear();
  if (m_pool) {
    if (size_t leaked = m_pool->release_all())
      kernel::console_print("blkfront: the backend still maps %u pool pages; leaking them\n",
                            static_cast<unsigned>(leaked));
    m_pool.reset();
  }
}

void* BlkFront::alloc_buffer(size_t bytes) {
  size_t pages = (bytes + kPage - 1) / kPage;
  if (pages == 0 || m_queues.empty()) return nullptr;
  // Aligned to its size (a power of two up to 1 MiB), so it crosses no
  // larger boundary than it must: the hosted backend registers guest RAM
  // with io_uring in 1 MiB pieces, and a request inside one piece needs no
  // per-request page pinning there.
  size_t align = kPage;
  while (align < pages * kPage && align < kBufferAlignMax) align <<= 1;
  size_t rounded = (pages * kPage + align - 1) / align * align;
  auto* va = static_cast<uint8_t*>(aligned_alloc(align, rounded));
  if (!va) return nullptr;
  Buffer b{va, pages, m_backend, {}};
  b.refs.reserve(pages);
  for (size_t i = 0; i < pages; ++i) {
    auto ref = gnttab::grant_access(m_backend, gnttab::virt_to_gfn(va + i * kPage), gnttab::Access::kReadWrite);
    if (!ref.ok()) {
      for (GrantRef r : b.refs) (void)gnttab::end_access(r);  // never used: nothing maps them
      free(va);
      return nullptr;
    }
    b.refs.push_back(*ref);
  }
  m_buffers.push_back(std::move(b));
  return va;
}

void BlkFront::free_buffer(void* buf) {
  for (auto it = m_buffers.begin(); it != m_buffers.end(); ++it) {
    if (it->va != buf) continue;
    bool mapped = false;
    for (GrantRef r : it->refs)
      if (!gnttab::end_access(r)) mapped = true;
    if (mapped) kernel::console_print("blkfront: the backend still maps a buffer's pages; leaking them\n");
    else free(it->va);
    m_buffers.erase(it);
    return;
  }
}

const BlkFront::Buffer* BlkFront::granted_buffer(const void* p, size_t bytes) const {
  auto* at = static_cast<const uint8_t*>(p);
  if (reinterpret_cast<uintptr_t>(at) % kPage) return nullptr;
  for (const Buffer& b : m_buffers)
    if (at >= b.va && at < b.va + b.pages * kPage)
      return b.backend == m_backend && bytes <= static_cast<size_t>(b.va + b.pages * kPage - at) ? &b : nullptr;
  return nullptr;
}

void BlkFront::on_event(EvtchnPort, void* data) { static_cast<BlkFront*>(data)->m_waiters.wake_all(); }

Result<void> BlkFront::read(uint64_t sector, void* buf, size_t sectors) {
  return blocking(Op::kRead, sector, buf, sectors);
}

Result<void> BlkFront::write(uint64_t sector, const void* buf, size_t sectors) {
  // The buffer is only read: its bytes are copied into the pool's pages.
  return blocking(Op::kWrite, sector, const_cast<void*>(buf), sectors);
}

Result<void> BlkFront::write_flush(uint64_t sector, const void* buf, size_t sectors) {
  return blocking(Op::kWriteFlush, sector, const_cast<void*>(buf), sectors);
}

Result<void> BlkFront::flush() { return blocking(Op::kFlush, 0, nullptr, 0); }

Result<void> BlkFront::discard(uint64_t sector, uint64_t sectors) {
  if (sectors == 0 && m_connected && m_feature_discard && sector <= m_sectors) return {};
  return blocking(Op::kDiscard, sector, nullptr, sectors);
}

Result<void> BlkFront::blocking(Op op, uint64_t sector, void* buf, size_t sectors) {
  Request req;
  req.op = op;
  req.sector = sector;
  req.buf = buf;
  req.sectors = sectors;
  if (auto r = submit(req); !r.ok()) return r;
  return wait(req);
}

Result<void> BlkFront::submit(Request& req) {
  if (!m_connected || m_queues.empty()) return Errno::kNoDev;
  if ((req.op == Op::kFlush || req.op == Op::kWriteFlush) && !m_feature_flush) return Errno::kOpNotSupp;
  if (req.op == Op::kDiscard && !m_feature_discard) return Errno::kOpNotSupp;
  if (req.op == Op::kFlush && req.sectors != 0) return Errno::kInval;
  if (carries_data(req.op) && req.sectors && !req.buf) return Errno::kInval;
  if (req.sector > m_sectors || req.sectors > m_sectors - req.sector) return Errno::kRange;
  req.m_next = nullptr;
  req.m_issued = 0;
  req.m_slots = 0;
  req.m_error.reset();
  req.m_done = false;
  evtchn::UpcallGuard guard;
  if (req.sectors == 0 && req.op != Op::kFlush) {
    finish(req);  // nothing to do (a discard of nothing included)
    return {};
  }
  req.m_queued = true;
  if (m_queue_tail) m_queue_tail->m_next = &req;
  else m_queue_head = &req;
  m_queue_tail = &req;
  // From a completion callback: poll() issues everything resubmitted at once,
  // with one push and at most one notification.
  if (!m_reaping) issue_queued();
  return {};
}

Result<void> BlkFront::wait(Request& req) {
  while (!req.done()) {
    // No polling first: with synchronous wake-ups (docs/architecture.md) a
    // vCPU that polls holds the CPU the hypervisor would answer on, and
    // measured slower at every queue depth than sleeping at once.
    // Sleep until the backend's event (or a completion another thread reaps):
    // poll() asks for the event and re-checks with upcalls masked, so one
    // that comes in between is not lost.
    evtchn::UpcallGuard guard;
    poll();
    if (req.done()) break;
    ++m_stats.sleeps;
    m_waiters.wait();
  }
  return req.result();
}

void BlkFront::poll() {
  evtchn::UpcallGuard guard;
  m_reaping = true;
  reap_responses();
  m_reaping = false;
  issue_queued();
}

void BlkFront::issue_queued() {
  while (m_queue_head && !m_queues.empty()) {
    Slot* slot = nullptr;
    for (Slot& s : m_slots)
      if (!s.busy) {
        slot = &s;
        break;
      }
    if (!slot) break;  // kMaxInFlight out already
    // Round-robin over the queues, skipping full rings.
    Queue* queue = nullptr;
    for (size_t tries = 0; tries < m_queues.size() && !queue; ++tries) {
      Queue& q = m_queues[m_next_queue];
      m_next_queue = (m_next_queue + 1) % m_queues.size();
      if (!q.ring->full()) queue = &q;
    }
    if (!queue) break;
    blkif_request req{};
    if (!fill_slot(*slot, req)) break;
    req.id = static_cast<uint64_t>(slot - m_slots.data());
    slot->queue = static_cast<unsigned>(queue - m_queues.data());
    memcpy(&queue->ring->next_request(), &req, sizeof req);
    ++m_stats.slots;
    ++m_stats.per_queue[slot->queue];
    queue->pushed = true;
  }
  for (Queue& q : m_queues) {
    if (q.pushed && q.ring->push_requests() == NotifyNeeded::kYes) {
      ++m_stats.notifications;
      (void)evtchn::send(*q.port);
    }
    q.pushed = false;
  }
}

bool BlkFront::fill_slot(Slot& slot, blkif_request& req) {
  Request& head = *m_queue_head;
  uint8_t operation = ring_operation(head.op);
  size_t first = head.m_issued;
  uint64_t sector = head.sector + first;
  // INDIRECT wraps only reads and writes (xen/io/blkif.h): a flush carrying
  // data has 11 pages at most.
  unsigned max_pages = head.op == Op::kWriteFlush ? BLKIF_MAX_SEGMENTS_PER_REQUEST
                       : carries_data(head.op)    ? m_max_segments
                                                  : 0;
  size_t room = max_pages * kSectorsPerPage;
  size_t n = head.sectors - first < room ? head.sectors - first : room;
  // The head's own granted pages, or adjacent whole reads or writes waiting
  // behind it riding in the same slot (their bytes copied through the pool).
  const Buffer* buffer = carries_data(head.op)
                             ? granted_buffer(static_cast<uint8_t*>(head.buf) + first * kSectorSize, n * kSectorSize)
                             : nullptr;
  unsigned parts = 1;
  size_t total = n;
  Request* last = first + n == head.sectors && !buffer ? &head : nullptr;
  while (last && (head.op == Op::kRead || head.op == Op::kWrite) && parts < kMaxParts) {
    Request* next = last->m_next;
    if (!next || next->op != head.op || next->sector != sector + total || next->sectors > room - total) break;
    total += next->sectors;
    last = next;
    ++parts;
  }
  unsigned pages = static_cast<unsigned>((total + kSectorsPerPage - 1) / kSectorsPerPage);
  bool indirect = pages > BLKIF_MAX_SEGMENTS_PER_REQUEST;
  if (carries_data(head.op) && !take_pages(slot, buffer ? 0 : pages, indirect)) return false;
  if (buffer) {
    size_t page0 = static_cast<size_t>(static_cast<uint8_t*>(head.buf) + first * kSectorSize - buffer->va) / kPage;
    for (unsigned i = 0; i < pages; ++i)
      slot.pages[i] = PooledPage{buffer->va + (page0 + i) * kPage, buffer->refs[page0 + i]};
    slot.nr_pages = pages;
    slot.borrowed = true;
    ++m_stats.zero_copy;
  }

  slot.busy = true;
  slot.operation = operation;
  slot.nr_parts = 0;
  size_t at = 0;
  for (unsigned i = 0; i < parts; ++i) {
    Request& r = *m_queue_head;
    size_t s = i == 0 ? n : r.sectors;
    size_t offset = (i == 0 ? first : 0) * kSectorSize;
    if (head.op != Op::kRead && carries_data(head.op) && !slot.borrowed)
      copy_to_pages(slot.pages, at, static_cast<const uint8_t*>(r.buf) + offset, s * kSectorSize);
    slot.parts[slot.nr_parts++] = Part{&r, offset, s * kSectorSize};
    at += s * kSectorSize;
    r.m_issued += s;
    ++r.m_slots;
    if (r.m_issued < r.sectors && carries_data(r.op)) break;  // the head goes on in the next slot
    r.m_queued = false;
    m_queue_head = r.m_next;
    if (!m_queue_head) m_queue_tail = nullptr;
  }
  m_stats.merged += parts - 1;

  req.operation = operation;
  req.sector_number = sector;
  if (head.op == Op::kDiscard) {
    // ABI: xen/io/blkif.h, struct blkif_request_discard shares the ring slot.
    blkif_request_discard d{};
    d.operation = BLKIF_OP_DISCARD;
    d.sector_number = sector;
    d.nr_sectors = head.sectors;
    memcpy(&req, &d, sizeof d);
    return true;
  }
  if (!carries_data(head.op)) return true;  // a bare flush
  // Every page starts at sector 0; only the last may end early.
  auto segment = [&](unsigned i) {
    size_t end = total - i * kSectorsPerPage;
    return blkif_request_segment{slot.pages[i].ref.value(), 0,
                                 static_cast<uint8_t>((end < kSectorsPerPage ? end : kSectorsPerPage) - 1)};
  };
  if (!indirect) {
    req.nr_segments = static_cast<uint8_t>(pages);
    for (unsigned i = 0; i < pages; ++i) req.seg[i] = segment(i);
    return true;
  }
  auto* segs = static_cast<blkif_request_segment*>(slot.indirect->va);
  for (unsigned i = 0; i < pages; ++i) segs[i] = segment(i);
  blkif_request_indirect ind{};
  ind.operation = BLKIF_OP_INDIRECT;
  ind.indirect_op = operation;
  ind.nr_segments = static_cast<uint16_t>(pages);
  ind.sector_number = sector;
  ind.indirect_grefs[0] = slot.indirect->ref.value();
  memcpy(&req, &ind, sizeof ind);
  ++m_stats.indirect;
  return true;
}

bool BlkFront::take_pages(Slot& slot, unsigned pages, bool indirect) {
  unsigned need = pages + (indirect ? 1u : 0u);
  slot.nr_pages = 0;
  slot.indirect.reset();
  if (m_pool && m_pool->available() >= need) {
    for (; slot.nr_pages < pages; ++slot.nr_pages) {
      auto p = m_pool->get();
      if (!p) break;
      slot.pages[slot.nr_pages] = *p;
    }
    if (indirect && slot.nr_pages == pages) slot.indirect = m_pool->get();
    if (slot.nr_pages == pages && (!indirect || slot.indirect)) return true;
    for (unsigned i = 0; i < slot.nr_pages; ++i) m_pool->put(slot.pages[i]);
    slot.nr_pages = 0;
  }
  // Short of pages: completions will bring some back, unless nothing is in
  // flight (the grant table itself is full), when the head request fails.
  for (const Slot& s : m_slots)
    if (s.busy) return false;
  Request& r = *m_queue_head;
  m_queue_head = r.m_next;
  if (!m_queue_head) m_queue_tail = nullptr;
  r.m_queued = false;
  if (!r.m_error) r.m_error = Errno::kNoMem;
  if (r.m_slots == 0) finish(r);
  return false;
}

void BlkFront::reap_responses() {
  // A completion callback may close the device: index, never hold, the queues.
  for (unsigned q = 0; q < m_queues.size(); ++q) {
    do {
      while (q < m_queues.size() && m_queues[q].ring->unconsumed_responses()) {
        blkif_response rsp = m_queues[q].ring->take_response();
        // Not a request of ours on this queue: drop it.
        if (rsp.id >= m_slots.size() || !m_slots[rsp.id].busy || m_slots[rsp.id].queue != q) continue;
        complete_slot(m_slots[rsp.id], rsp.status);
      }
    } while (q < m_queues.size() && m_queues[q].ring->final_check_for_responses());
  }
}

void BlkFront::complete_slot(Slot& slot, int16_t status) {
  bool ok = status == BLKIF_RSP_OKAY;
  std::optional<Errno> error;
  if (!ok) error = status == BLKIF_RSP_EOPNOTSUPP ? Errno::kOpNotSupp : Errno::kIo;
  size_t at = 0;
  bool read = slot.operation == BLKIF_OP_READ;
  for (unsigned i = 0; i < slot.nr_parts; ++i) {
    const Part& p = slot.parts[i];
    if (ok && read && !slot.borrowed) copy_from_pages(slot.pages, at, static_cast<uint8_t*>(p.req->buf) + p.offset, p.bytes);
    at += p.bytes;
  }
  if (!slot.borrowed)
    for (unsigned i = 0; i < slot.nr_pages; ++i) m_pool->put(slot.pages[i]);
  if (slot.indirect) m_pool->put(*slot.indirect);
  // The slot is free before any callback runs: a callback may submit again.
  unsigned nr_parts = slot.nr_parts;
  std::array<Part, kMaxParts> parts = slot.parts;
  slot.busy = false;
  slot.nr_pages = slot.nr_parts = 0;
  slot.borrowed = false;
  slot.indirect.reset();
  for (unsigned i = 0; i < nr_parts; ++i) {
    Request& r = *parts[i].req;
    if (error && !r.m_error) r.m_error = error;
    if (--r.m_slots == 0 && !r.m_queued) finish(r);
  }
}

void BlkFront::finish(Request& req) {
  req.m_done = true;
  m_waiters.wake_all();
  if (req.on_complete) req.on_complete(req);  // may reuse or free `req`: nothing touches it after
}

void BlkFront::fail_pending() {
  evtchn::UpcallGuard guard;
  for (Slot& s : m_slots)
    if (s.busy) complete_slot(s, BLKIF_RSP_ERROR);
  while (Request* r = m_queue_head) {
    m_queue_head = r->m_next;
    r->m_queued = false;
    if (!r->m_error) r->m_error = Errno::kNoDev;
    if (r->m_slots == 0) finish(*r);
  }
  m_queue_tail = nullptr;
  m_waiters.wake_all();
}

}  // namespace atl::blk
