// blkback's data path: requests off the ring, checked, their segments mapped
// through the grant table, the file I/O queued on io_uring, and responses back
// on the ring once the completions arrive.
#include "blkback.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace atl::hv {
namespace {

// A request takes two entries at most (a write, then its fdatasync). The
// submission queue is flushed to the kernel whenever it runs short; the
// completion queue holds every entry of every request the rings can carry.
constexpr unsigned kUringEntries = 256;
constexpr unsigned kUringCqEntries = 2 * kMaxQueuesLimit * BlkifSharedRing::size_for_pages(1u << kMaxRingPageOrder);

// Discarded sectors read back as zeroes; the file keeps its size.
constexpr int kPunchHole = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

}  // namespace

bool BlkBack::setup_uring(std::string& error) {
  io_uring_params params{};
  params.flags = IORING_SETUP_CQSIZE;
  params.cq_entries = kUringCqEntries;
  int rc = io_uring_queue_init_params(kUringEntries, &m_uring, &params);
  if (rc < 0) {
    // Some sandboxes (container seccomp profiles) refuse io_uring: fall back to
    // synchronous I/O on the loop thread rather than refuse to run.
    m_domain.log("blkback: io_uring unavailable (%s), using synchronous I/O", strerror(-rc));
    return true;
  }
  m_uring_ok = true;
  if ((fcntl(m_fd, F_GETFL) & O_DIRECT) && !register_guest_ram()) {
    m_domain.log("blkback: guest RAM not registered with io_uring (%s): O_DIRECT pins pages per request",
                 strerror(errno));
  }
  if (!m_loop.add_fd(m_uring.ring_fd, EPOLLIN, [this](uint32_t) { on_uring_ready(); })) {
    error = "cannot watch the io_uring completion queue";
    return false;
  }
  return true;
}

bool BlkBack::register_guest_ram() {
  uint64_t chunks = (m_domain.memory().size() + kFixedChunk - 1) / kFixedChunk;
  if (chunks > kMaxFixedChunks) chunks = kMaxFixedChunks;  // RAM above that takes the ordinary path
  int rc = io_uring_register_buffers_sparse(&m_uring, static_cast<unsigned>(chunks));
  if (rc < 0) {
    errno = -rc;
    return false;
  }
  m_fixed_chunks.assign(chunks, FixedChunk::kUnregistered);
  return true;
}

Result<BlkifSharedRing*> BlkBack::map_ring(const std::vector<GrantRef>& refs, std::vector<uint64_t>& maps) {
  uint8_t* first = nullptr;
  for (size_t i = 0; i < refs.size(); ++i) {
    auto map = m_domain.gnttab().map(refs[i], DomId(0), true);
    if (!map.ok()) return map.error();
    maps.push_back(map->handle);
    // Guest memory is one host mapping, so pages adjacent in guest-physical
    // order are adjacent here: the ring is used in place. A frontend that
    // grants scattered (or repeated) pages is refused rather than copied.
    if (i == 0) first = map->page.data();
    else if (map->page.data() != first + i * 4096) return Errno::kInval;
  }
  return reinterpret_cast<BlkifSharedRing*>(first);
}

Result<void> BlkBack::connect_rings(const FrontendRings& rings) {
  uint64_t generation = ++m_generation;
  uint32_t size = BlkifSharedRing::size_for_pages(size_t{1} << rings.ring_page_order);
  m_queues.resize(rings.queues.size());
  for (unsigned q = 0; q < rings.queues.size(); ++q) {
    Queue& queue = m_queues[q];
    auto sring = map_ring(rings.queues[q].ring_refs, queue.ring_maps);
    std::weak_ptr<bool> alive = m_alive;
    auto bound = sring.ok() ? m_domain.bind_backend_port(rings.queues[q].port,
                                                          [this, alive, generation, q] {
                                                            if (!alive.expired()) on_guest_notify(generation, q);
                                                          })
                            : Result<uint32_t>(sring.error());
    if (!bound.ok()) {
      disconnect();
      return bound.error();
    }
    queue.backend_port = *bound;
    queue.ring.emplace(*sring, size);
    queue.port = rings.queues[q].port;
  }
  return {};
}

void BlkBack::disconnect() {
  drain_inflight();
  unmap_persistent();
  m_barrier = false;
  if (m_queues.empty()) return;
  for (Queue& q : m_queues) {
    for (uint64_t handle : q.ring_maps) m_domain.gnttab().unmap(handle);
    if (q.backend_port) m_domain.release_backend_port(*q.backend_port);
  }
  m_queues.clear();
  ++m_generation;  // the old ports' notifications are ignored from now on
}

void BlkBack::unmap_persistent() {
  for (uint64_t handle : m_persistent_handles) m_domain.gnttab().unmap(handle);
  m_persistent_handles.clear();
  m_persistent_pages.clear();
}

void BlkBack::on_guest_notify(uint64_t generation, unsigned queue) {
  if (generation != m_generation || queue >= m_queues.size()) return;
  consume_requests(queue);
  if (m_uring_ok) {
    io_uring_submit(&m_uring);
    settle();
  }
  push_responses();
}

void BlkBack::settle() {
  bool barrier = m_barrier;
  // Reads the page cache holds complete inside io_uring_submit(): answer
  // them in the same push (one notification) instead of a trip through the
  // event loop and a second push.
  reap_completions();
  // A barrier completed (the requests behind it may go now), or the rings
  // were left without req_event armed and the I/O in flight that would have
  // brought us back is done: look again (arming req_event this time).
  while (!m_queues.empty() && ((barrier && !m_barrier) || (m_unarmed && m_inflight < kPollInFlight))) {
    barrier = m_barrier;
    consume_all();
    reap_completions();
  }
}

void BlkBack::consume_requests(unsigned queue) {
  // fail() empties m_queues: check before every use.
  auto ring = [&]() -> BlkifBackRing* { return queue < m_queues.size() ? &*m_queues[queue].ring : nullptr; };
  do {
    if (ring()->overflowed()) return fail("the frontend overran a request ring");
    // A barrier holds back every later request, on every queue, until it has completed.
    while (ring() && !m_barrier && ring()->unconsumed_requests()) start(queue, ring()->take_request());
    if (m_barrier) break;  // its completion consumes the rest
    if (!ring()) return;
    // Enough I/O in flight: every completion looks at the rings again
    // (on_uring_ready), so req_event stays behind and the frontend's pushes
    // until then cost it no notification (a hypercall here).
    if (m_uring_ok && m_inflight >= kPollInFlight) {
      m_unarmed = true;
      return;
    }
  } while (ring()->final_check_for_requests());
}

void BlkBack::consume_all() {
  m_unarmed = false;
  for (unsigned q = 0; q < m_queues.size() && !m_barrier; ++q) consume_requests(q);
  if (m_uring_ok) io_uring_submit(&m_uring);
}

void BlkBack::start(unsigned queue, const blkif_request& req) {
  RequestLimits limits{kMaxIndirectSegments, true};
  RequestCheck check = check_request(req, m_geometry, limits);
  uint8_t data_op = data_operation(req);
  if (check != RequestCheck::kOk) {
    m_domain.log("blkback: request %llu refused: %s", static_cast<unsigned long long>(req.id), to_string(check));
    ++m_counters.errors;
    respond(queue, req.id, data_op, check == RequestCheck::kUnsupportedOp ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR);
    return;
  }
  auto* f = new InFlight;
  ++m_inflight;
  m_loop.hold_busy_poll(+1);  // waiting on the disk: spinning would only take its CPU
  f->queue = queue;
  f->id = req.id;
  f->operation = data_op;
  bool sync = req.operation == BLKIF_OP_FLUSH_DISKCACHE || req.operation == BLKIF_OP_WRITE_BARRIER;
  f->data_op = sync ? BLKIF_OP_WRITE : data_op;
  f->sync_after = sync;
  if (req.operation == BLKIF_OP_WRITE_BARRIER) m_barrier = true;
  // A READ writes into the guest's pages, a WRITE only reads them.
  bool writable = f->data_op == BLKIF_OP_READ;
  blkif_request_segment segs[kMaxIndirectSegments];
  if (req.operation != BLKIF_OP_DISCARD && !read_segments(*f, req, segs)) {
    f->failed = true;
    complete(f);
    return;
  }
  for (unsigned i = 0; i < f->nr_segments; ++i) {
    const blkif_request_segment& s = segs[i];
    uint8_t* page = map_page(*f, GrantRef(s.gref), writable);
    if (!page) {
      m_domain.log("blkback: request %llu: segment %u grant %u refused", static_cast<unsigned long long>(req.id), i,
                   s.gref);
      f->failed = true;
      complete(f);
      return;
    }
    size_t length = (s.last_sect - s.first_sect + 1u) * 512u;
    f->iov[i] = iovec{page + s.first_sect * 512u, length};
    f->expected_bytes += length;
  }
  if (!submit_io(*f, req)) {
    f->failed = true;
    complete(f);
  }
}

bool BlkBack::read_segments(InFlight& f, const blkif_request& req, blkif_request_segment* segs) {
  GatheredSegments g = gather_segments(req, m_geometry, std::span(segs, kMaxIndirectSegments),
                                       [&](uint32_t gref) { return map_page(f, GrantRef(gref), false); });
  f.nr_segments = g.count;
  if (g.refused_page) {
    m_domain.log("blkback: request %llu: indirect page %u grant %u refused", static_cast<unsigned long long>(req.id),
                 *g.refused_page, as_indirect(req).indirect_grefs[*g.refused_page]);
    return false;
  }
  if (g.check != RequestCheck::kOk) {
    m_domain.log("blkback: request %llu refused: %s", static_cast<unsigned long long>(req.id), to_string(g.check));
    return false;
  }
  return true;
}

uint8_t* BlkBack::map_page(InFlight& f, GrantRef ref, bool writable) {
  if (m_persistent) {
    auto it = m_persistent_pages.find(ref.value());
    if (it != m_persistent_pages.end()) return it->second;
    // Persistent grants are read-write (xen/io/blkif.h, feature-persistent);
    // a read-only one is mapped for this request only, below.
    if (m_persistent_pages.size() < kMaxPersistentGrants) {
      if (auto map = m_domain.gnttab().map(ref, DomId(0), true); map.ok()) {
        m_persistent_handles.push_back(map->handle);
        m_persistent_pages.emplace(ref.value(), map->page.data());
        return map->page.data();
      }
    }
  }
  auto map = m_domain.gnttab().map(ref, DomId(0), writable);
  if (!map.ok()) return nullptr;
  f.map_handles[f.nr_maps++] = map->handle;
  return map->page.data();
}

bool BlkBack::submit_io(InFlight& f, const blkif_request& req) {
  off_t offset = static_cast<off_t>(req.sector_number * 512);
  // Checked against the disk's size already, so this cannot overflow.
  off_t discard_len = static_cast<off_t>(request_sectors(req) * 512);
  bool discard = req.operation == BLKIF_OP_DISCARD;
  // The durability contract: a flush covers every write completed (blkback:
  // submitted) before it. When every write submitted so far is covered by an
  // fdatasync that has completed, a flush has only its own data to make
  // durable: one write with RWF_DSYNC does that (the kernel syncs it, the
  // disk cache included, before the write completes), and a bare flush has
  // nothing to do. A barrier always drains and syncs.
  bool clean = m_write_seq == m_synced_seq;
  bool flush = req.operation == BLKIF_OP_FLUSH_DISKCACHE;
  if (flush && clean && !f.nr_segments) {
    ++m_flushes_elided;
    complete(&f);
    return true;
  }
  f.dsync = flush && clean && f.nr_segments;
  if (f.dsync) ++m_dsync_writes;
  else if (discard || (f.nr_segments && f.data_op == BLKIF_OP_WRITE)) ++m_write_seq;
  f.sync_covers = m_write_seq;
  bool sync = f.sync_after && !f.dsync;  // an fdatasync follows (IO_DRAIN: after everything before it)
  if (!m_uring_ok) {
    ssize_t n = 0;
    if (discard) n = fallocate(m_fd, kPunchHole, offset, discard_len) == 0 ? 0 : -errno;
    else if (f.nr_segments && f.data_op == BLKIF_OP_READ) n = preadv(m_fd, f.iov.data(), f.nr_segments, offset);
    else if (f.nr_segments) n = pwritev2(m_fd, f.iov.data(), f.nr_segments, offset, f.dsync ? RWF_DSYNC : 0);
    if (!discard && f.nr_segments) record_result(f, n < 0 ? -errno : static_cast<int>(n), false);
    else if (discard) record_result(f, static_cast<int>(n), false);
    if (sync) {
      int res = fdatasync(m_fd) == 0 ? 0 : -errno;
      record_result(f, res, true);
      if (res == 0) note_synced(f.sync_covers);
    }
    complete(&f);
    return true;
  }
  // Two entries at most per request: hand what is queued to the kernel when
  // the submission queue runs short.
  if (io_uring_sq_space_left(&m_uring) < 2) io_uring_submit(&m_uring);
  if (io_uring_sq_space_left(&m_uring) < 2) return false;
  io_uring_sqe* sqe = io_uring_get_sqe(&m_uring);
  if (discard) {
    io_uring_prep_fallocate(sqe, m_fd, kPunchHole, offset, discard_len);
  } else if (f.nr_segments) {
    if (auto fixed = fixed_span(f)) {
      ++m_fixed_io;
      auto bytes = static_cast<unsigned>(f.expected_bytes);
      if (f.data_op == BLKIF_OP_READ) io_uring_prep_read_fixed(sqe, m_fd, fixed->data, bytes, offset, fixed->index);
      else io_uring_prep_write_fixed(sqe, m_fd, fixed->data, bytes, offset, fixed->index);
    } else if (f.data_op == BLKIF_OP_READ) {
      io_uring_prep_readv(sqe, m_fd, f.iov.data(), f.nr_segments, offset);
    } else {
      io_uring_prep_writev(sqe, m_fd, f.iov.data(), f.nr_segments, offset);
    }
    if (f.data_op == BLKIF_OP_WRITE && f.dsync) sqe->rw_flags = RWF_DSYNC;
    if (sync) {
      // Flush or barrier with data: after every request submitted before it,
      // the write, then (linked: only if the write succeeded) the fdatasync.
      sqe->flags |= IOSQE_IO_DRAIN | IOSQE_IO_LINK;
      io_uring_sqe_set_data(sqe, &f);
      sqe = io_uring_get_sqe(&m_uring);
      f.cqes_pending = 1;
    }
  }
  if (sync) {
    // The durability contract: a flush is answered after fdatasync, and it
    // covers every write submitted before it (IO_DRAIN waits for them).
    io_uring_prep_fsync(sqe, m_fd, IORING_FSYNC_DATASYNC);
    if (!f.nr_segments) sqe->flags |= IOSQE_IO_DRAIN;
    // Tagged: the low bit marks the fdatasync's completion.
    io_uring_sqe_set_data(sqe, reinterpret_cast<void*>(reinterpret_cast<uintptr_t>(&f) | 1));
  } else {
    io_uring_sqe_set_data(sqe, &f);
  }
  ++f.cqes_pending;
  return true;
}

std::optional<BlkBack::FixedSpan> BlkBack::fixed_span(const InFlight& f) {
  if (m_fixed_chunks.empty() || f.nr_segments == 0) return std::nullopt;
  auto* first = static_cast<uint8_t*>(f.iov[0].iov_base);
  for (unsigned i = 1; i < f.nr_segments; ++i)
    if (static_cast<uint8_t*>(f.iov[i - 1].iov_base) + f.iov[i - 1].iov_len != f.iov[i].iov_base) return std::nullopt;
  // Segments are granted guest pages, so the run lies in guest RAM; one
  // registered chunk must hold all of it.
  uint8_t* ram = m_domain.memory().ram_at(0);
  uint64_t start = static_cast<uint64_t>(first - ram), last = start + f.expected_bytes - 1;
  uint64_t chunk = start / kFixedChunk;
  if (chunk != last / kFixedChunk || chunk >= m_fixed_chunks.size()) return std::nullopt;
  if (m_fixed_chunks[chunk] == FixedChunk::kUnregistered) {
    // Registering pins (and first populates) the chunk: once, on first use,
    // rather than all of RAM at boot.
    uint64_t base = chunk * kFixedChunk, size = std::min(kFixedChunk, m_domain.memory().size() - base);
    iovec iov{ram + base, size};
    bool ok = io_uring_register_buffers_update_tag(&m_uring, static_cast<unsigned>(chunk), &iov, nullptr, 1) == 1;
    m_fixed_chunks[chunk] = ok ? FixedChunk::kRegistered : FixedChunk::kRefused;
  }
  if (m_fixed_chunks[chunk] != FixedChunk::kRegistered) return std::nullopt;
  return FixedSpan{first, static_cast<unsigned>(chunk)};
}

void BlkBack::on_uring_ready() {
  bool barrier = m_barrier;
  reap_completions();
  // Requests pushed while enough I/O was in flight (the frontend was not
  // asked to notify: see consume_requests), or held back by a barrier that
  // has completed.
  if (m_unarmed || (barrier && !m_barrier)) {
    consume_all();
    settle();
  }
  push_responses();
}

void BlkBack::note_synced(uint64_t covers) {
  if (covers > m_synced_seq) m_synced_seq = covers;
}

void BlkBack::reap_completions() {
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&m_uring, &cqe) == 0) {
    auto tagged = reinterpret_cast<uintptr_t>(io_uring_cqe_get_data(cqe));
    auto* f = reinterpret_cast<InFlight*>(tagged & ~uintptr_t{1});
    int res = cqe->res;
    io_uring_cqe_seen(&m_uring, cqe);
    if (!f) continue;
    record_result(*f, res, tagged & 1);
    if ((tagged & 1) && res == 0) note_synced(f->sync_covers);
    if (--f->cqes_pending == 0) complete(f);
  }
}

void BlkBack::record_result(InFlight& f, int res, bool sync) {
  // A file system without hole punching answers a discard EOPNOTSUPP, and the
  // frontend hears so.
  if (f.operation == BLKIF_OP_DISCARD && res == -EOPNOTSUPP) f.unsupported = true;
  // FIXME: a short transfer is answered as an error; resubmitting the rest
  // would be kinder, but a regular file in range does not return one.
  bool moves_data = !sync && f.operation != BLKIF_OP_DISCARD && f.nr_segments;
  if (res < 0 || (moves_data && static_cast<uint64_t>(res) != f.expected_bytes)) f.failed = true;
}

void BlkBack::complete(InFlight* f) {
  for (unsigned i = 0; i < f->nr_maps; ++i) m_domain.gnttab().unmap(f->map_handles[i]);
  --m_inflight;
  m_loop.hold_busy_poll(-1);
  if (f->operation == BLKIF_OP_WRITE_BARRIER) m_barrier = false;
  int16_t status = f->unsupported ? BLKIF_RSP_EOPNOTSUPP : f->failed ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
  count(*f, status);
  respond(f->queue, f->id, f->operation, status);
  delete f;
}

void BlkBack::count(const InFlight& f, int16_t status) {
  if (status != BLKIF_RSP_OKAY) { ++m_counters.errors; return; }
  if (f.operation == BLKIF_OP_DISCARD) { ++m_counters.discards; return; }
  if (f.operation == BLKIF_OP_FLUSH_DISKCACHE || f.operation == BLKIF_OP_WRITE_BARRIER) ++m_counters.flushes;
  if (!f.nr_segments) return;
  bool read = f.data_op == BLKIF_OP_READ;
  ++(read ? m_counters.reads : m_counters.writes);
  (read ? m_counters.read_bytes : m_counters.write_bytes) += f.expected_bytes;
}

void BlkBack::respond(unsigned queue, uint64_t id, uint8_t operation, int16_t status) {
  ++m_served;
  if (queue >= m_queues.size() || !m_queues[queue].ring) return;
  blkif_response rsp{};
  rsp.id = id;
  rsp.operation = operation;
  rsp.status = status;
  m_queues[queue].ring->put_response(rsp);
}

void BlkBack::push_responses() {
  for (Queue& q : m_queues)
    if (q.ring && q.ring->push_responses() == NotifyNeeded::kYes) m_domain.notify_guest(q.port);
}

void BlkBack::drain_inflight() {
  m_barrier = false;  // nothing more is taken off the ring while draining
  m_unarmed = false;  // nothing more is taken off the ring either
  while (m_uring_ok && m_inflight) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&m_uring, &cqe) != 0) break;
    reap_completions();
    push_responses();
  }
}

}  // namespace atl::hv
