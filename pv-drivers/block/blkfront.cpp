// blkfront's data path: the ring page, requests built from the caller's pages,
// and threads waiting for their responses.
#include "blkfront.h"

#include <stdlib.h>
#include <string.h>

#include "atoll/evtchn.h"
#include "atoll/gnttab.h"
#include "atoll/kernel.h"

namespace atl::blk {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kSectorsPerPage = kPage / BlkFront::kSectorSize;
// ABI: xen/io/blkif.h, struct blkif_request: the layout both sides agree on.
static_assert(sizeof(blkif_request) == 112 && sizeof(blkif_response) == 16);
static_assert(BlkifFrontRing::kSize == 32);

}  // namespace

Result<void> BlkFront::setup_ring(DomId backend) {
  m_backend = backend;
  m_ring_page = aligned_alloc(kPage, kPage);
  if (!m_ring_page) return Errno::kNoMem;
  auto* sring = static_cast<BlkifFrontRing::Shared*>(m_ring_page);
  sring->init();
  m_ring.emplace(sring);
  auto ref = gnttab::grant_access(backend, gnttab::virt_to_gfn(m_ring_page), gnttab::Access::kReadWrite);
  if (!ref.ok()) return ref.error();
  m_ring_ref = *ref;
  auto port = evtchn::alloc_unbound(backend);
  if (!port.ok()) return port.error();
  m_port = *port;
  evtchn::bind(*port, &BlkFront::on_event, this);
  return {};
}

void BlkFront::free_ring() {
  fail_pending();
  if (m_port) {
    evtchn::unbind(*m_port);
    (void)evtchn::close(*m_port);
    m_port.reset();
  }
  // The backend is Closed (or gone) before this runs, so the ring is unmapped.
  if (m_ring_ref && !gnttab::end_access(*m_ring_ref))
    kernel::console_print("blkfront: the backend still maps the ring; leaking its page\n");
  else
    free(m_ring_page);
  m_ring_ref.reset();
  m_ring.reset();
  m_ring_page = nullptr;
}

void BlkFront::on_event(EvtchnPort, void* data) { static_cast<BlkFront*>(data)->m_waiters.wake_all(); }

Result<void> BlkFront::read(uint64_t sector, void* buf, size_t sectors) {
  return transfer(BLKIF_OP_READ, sector, static_cast<uint8_t*>(buf), sectors);
}

Result<void> BlkFront::write(uint64_t sector, const void* buf, size_t sectors) {
  // The pages are granted read-only for a write: the backend never stores to them.
  return transfer(BLKIF_OP_WRITE, sector, const_cast<uint8_t*>(static_cast<const uint8_t*>(buf)), sectors);
}

Result<void> BlkFront::flush() {
  if (!m_connected) return Errno::kNoDev;
  if (!m_feature_flush) return Errno::kOpNotSupp;
  blkif_request req{};
  req.operation = BLKIF_OP_FLUSH_DISKCACHE;
  return submit_and_wait(req);
}

Result<void> BlkFront::discard(uint64_t sector, uint64_t sectors) {
  if (!m_connected) return Errno::kNoDev;
  if (!m_feature_discard) return Errno::kOpNotSupp;
  if (sector > m_sectors || sectors > m_sectors - sector) return Errno::kRange;
  if (sectors == 0) return {};
  // ABI: xen/io/blkif.h, struct blkif_request_discard shares the ring slot.
  static_assert(sizeof(blkif_request_discard) <= sizeof(blkif_request));
  blkif_request_discard d{};
  d.operation = BLKIF_OP_DISCARD;
  d.sector_number = sector;
  d.nr_sectors = sectors;
  blkif_request req{};
  memcpy(&req, &d, sizeof d);
  return submit_and_wait(req);
}

Result<void> BlkFront::transfer(uint8_t operation, uint64_t sector, uint8_t* buf, size_t sectors) {
  if (!m_connected) return Errno::kNoDev;
  if (sector > m_sectors || sectors > m_sectors - sector) return Errno::kRange;
  constexpr size_t kMaxChunk = BLKIF_MAX_SEGMENTS_PER_REQUEST * kSectorsPerPage;
  bool aligned = reinterpret_cast<uintptr_t>(buf) % kSectorSize == 0;
  uint8_t* bounce = aligned ? nullptr : static_cast<uint8_t*>(aligned_alloc(kPage, kMaxChunk * kSectorSize));
  if (!aligned && !bounce) return Errno::kNoMem;
  Result<void> r;
  for (size_t done = 0; done < sectors && r.ok();) {
    uint8_t* at = buf + done * kSectorSize;
    // A sector-aligned buffer is split at page edges: ≤ 11 pages per request.
    size_t page_room = aligned ? (kPage - reinterpret_cast<uintptr_t>(at) % kPage) / kSectorSize : kSectorsPerPage;
    size_t n = sectors - done;
    size_t limit = aligned ? page_room + (BLKIF_MAX_SEGMENTS_PER_REQUEST - 1) * kSectorsPerPage : kMaxChunk;
    if (n > limit) n = limit;
    if (bounce && operation == BLKIF_OP_WRITE) memcpy(bounce, at, n * kSectorSize);
    r = transfer_chunk(operation, sector + done, bounce ? bounce : at, n);
    if (r.ok() && bounce && operation == BLKIF_OP_READ) memcpy(at, bounce, n * kSectorSize);
    done += n;
  }
  free(bounce);
  return r;
}

Result<void> BlkFront::transfer_chunk(uint8_t operation, uint64_t sector, uint8_t* buf, size_t sectors) {
  blkif_request req{};
  req.operation = operation;
  req.sector_number = sector;
  auto access = operation == BLKIF_OP_READ ? gnttab::Access::kReadWrite : gnttab::Access::kReadOnly;
  uintptr_t addr = reinterpret_cast<uintptr_t>(buf);
  uintptr_t end = addr + sectors * kSectorSize;
  Result<void> r;
  while (addr < end) {
    uintptr_t page = addr & ~uintptr_t{kPage - 1};
    uintptr_t seg_end = page + kPage < end ? page + kPage : end;
    auto ref = gnttab::grant_access(m_backend, gnttab::virt_to_gfn(reinterpret_cast<void*>(page)), access);
    if (!ref.ok()) { r = ref.error(); break; }
    blkif_request_segment& s = req.seg[req.nr_segments++];
    s.gref = ref->value();
    s.first_sect = static_cast<uint8_t>((addr - page) / kSectorSize);
    s.last_sect = static_cast<uint8_t>((seg_end - page) / kSectorSize - 1);
    addr = seg_end;
  }
  if (r.ok()) r = submit_and_wait(req);
  for (unsigned i = 0; i < req.nr_segments; ++i)
    if (!gnttab::end_access(GrantRef(req.seg[i].gref)))
      kernel::console_print("blkfront: grant %u still mapped by the backend; leaking it\n", req.seg[i].gref);
  return r;
}

Result<void> BlkFront::submit_and_wait(blkif_request& req) {
  unsigned slot = 0;
  auto have_slot = [&] {
    if (!m_connected || !m_ring) return true;
    if (m_ring->full()) return false;
    for (slot = 0; slot < m_slots.size(); ++slot)
      if (!m_slots[slot].busy) return true;
    return false;
  };
  sched::wait_until(m_waiters, have_slot);
  if (!m_connected || !m_ring) return Errno::kNoDev;
  Slot& s = m_slots[slot];
  s = Slot{true, false, 0};
  req.id = slot;
  memcpy(&m_ring->next_request(), &req, sizeof req);
  if (m_ring->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*m_port);
  sched::wait_until(m_waiters, [&] {
    poll_responses();
    return s.done;
  });
  s.busy = false;
  m_waiters.wake_all();  // a thread may be waiting for a free slot
  if (s.status == BLKIF_RSP_OKAY) return {};
  return s.status == BLKIF_RSP_EOPNOTSUPP ? Errno::kOpNotSupp : Errno::kIo;
}

void BlkFront::poll_responses() {
  if (!m_ring) return;
  bool any = false;
  do {
    while (m_ring->unconsumed_responses()) {
      blkif_response rsp = m_ring->take_response();
      if (rsp.id >= m_slots.size() || !m_slots[rsp.id].busy || m_slots[rsp.id].done) continue;  // not ours: drop
      m_slots[rsp.id].done = true;
      m_slots[rsp.id].status = rsp.status;
      any = true;
    }
  } while (m_ring->final_check_for_responses());
  if (any) m_waiters.wake_all();
}

void BlkFront::fail_pending() {
  for (Slot& s : m_slots)
    if (s.busy && !s.done) s = Slot{true, true, BLKIF_RSP_ERROR};
  m_waiters.wake_all();
}

}  // namespace atl::blk
