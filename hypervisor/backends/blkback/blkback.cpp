// blkback's data path: requests off the ring, checked, their segments mapped
// through the grant table, the file I/O queued on io_uring, and responses back
// on the ring once the completions arrive.
#include "blkback.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace atl::hv {
namespace {

constexpr unsigned kUringEntries = 64;  // > the 32 requests a ring can hold
static_assert(kUringEntries >= BlkifSharedRing::kSize);

bool has_segments(uint8_t operation) { return operation == BLKIF_OP_READ || operation == BLKIF_OP_WRITE; }

// Discarded sectors read back as zeroes; the file keeps its size.
constexpr int kPunchHole = FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;

}  // namespace

bool parse_disk_option(const std::string& text, DiskConfig& out) {
  size_t comma = text.find(',');
  out.path = text.substr(0, comma);
  out.read_only = false;
  if (out.path.empty()) return false;
  while (comma != std::string::npos) {
    size_t next = text.find(',', comma + 1);
    std::string flag = text.substr(comma + 1, next == std::string::npos ? std::string::npos : next - comma - 1);
    if (flag == "ro") out.read_only = true;
    else if (flag != "rw") return false;
    comma = next;
  }
  return true;
}

bool BlkBack::setup_uring(std::string& error) {
  int rc = io_uring_queue_init(kUringEntries, &m_uring, 0);
  if (rc < 0) {
    // Some sandboxes (container seccomp profiles) refuse io_uring: fall back to
    // synchronous I/O on the loop thread rather than refuse to run.
    m_domain.log("blkback: io_uring unavailable (%s), using synchronous I/O", strerror(-rc));
    return true;
  }
  m_uring_ok = true;
  if (!m_loop.add_fd(m_uring.ring_fd, EPOLLIN, [this](uint32_t) { on_uring_ready(); })) {
    error = "cannot watch the io_uring completion queue";
    return false;
  }
  return true;
}

Result<void> BlkBack::connect_ring(GrantRef ring_ref, EvtchnPort port) {
  GrantStatus status = GrantStatus::kOkay;
  auto map = m_domain.gnttab().map(ring_ref, DomId(0), true, &status);
  if (!map.ok()) return map.error();
  uint64_t generation = ++m_generation;
  std::weak_ptr<bool> alive = m_alive;
  auto bound = m_domain.bind_backend_port(port, [this, alive, generation] {
    if (!alive.expired()) on_guest_notify(generation);
  });
  if (!bound.ok()) {
    m_domain.gnttab().unmap(map->handle);
    return bound.error();
  }
  m_ring_map = map->handle;
  m_ring.emplace(reinterpret_cast<BlkifSharedRing*>(map->page.data()));
  m_port = port;
  return {};
}

void BlkBack::disconnect_ring() {
  drain_inflight();
  if (!m_ring) return;
  m_ring.reset();
  m_domain.gnttab().unmap(m_ring_map);
  m_ring_map = 0;
  ++m_generation;  // the old port's notifications are ignored from now on
}

void BlkBack::fail_device(const char* why) {
  fprintf(stderr, "atoll: dom%u vbd %u: %s; disconnecting the device\n", m_domain.domid(), m_devid, why);
  disconnect_ring();
  set_state(XenbusStateClosing);
}

void BlkBack::on_guest_notify(uint64_t generation) {
  if (generation != m_generation || !m_ring) return;
  do {
    if (m_ring->overflowed()) return fail_device("the frontend overran the request ring");
    while (m_ring && m_ring->unconsumed_requests()) start(m_ring->take_request());
  } while (m_ring && m_ring->final_check_for_requests());
  if (m_uring_ok) io_uring_submit(&m_uring);
  push_responses();
}

void BlkBack::start(const blkif_request& req) {
  RequestCheck check = check_request(req, m_geometry);
  if (check != RequestCheck::kOk) {
    m_domain.log("blkback: request %llu refused: %s", static_cast<unsigned long long>(req.id), to_string(check));
    respond(req.id, req.operation,
            check == RequestCheck::kUnsupportedOp ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR);
    return;
  }
  auto* f = new InFlight;
  ++m_inflight;
  f->id = req.id;
  f->operation = req.operation;
  // A READ writes into the guest's pages, a WRITE only reads them. Flushes and
  // discards carry no pages.
  bool writable = req.operation == BLKIF_OP_READ;
  unsigned segments = has_segments(req.operation) ? req.nr_segments : 0;
  for (unsigned i = 0; i < segments; ++i) {
    const blkif_request_segment& s = req.seg[i];
    auto map = m_domain.gnttab().map(GrantRef(s.gref), DomId(0), writable);
    if (!map.ok()) {
      m_domain.log("blkback: request %llu: segment %u grant %u refused", static_cast<unsigned long long>(req.id), i,
                   s.gref);
      f->failed = true;
      complete(f);
      return;
    }
    f->map_handles[f->nr_maps++] = map->handle;
    size_t length = (s.last_sect - s.first_sect + 1u) * 512u;
    f->iov[i] = iovec{map->page.data() + s.first_sect * 512u, length};
    f->expected_bytes += length;
  }
  if (!submit_io(*f, req)) {
    f->failed = true;
    complete(f);
  }
}

bool BlkBack::submit_io(InFlight& f, const blkif_request& req) {
  off_t offset = static_cast<off_t>(req.sector_number * 512);
  // Checked against the disk's size already, so this cannot overflow.
  off_t discard_len = static_cast<off_t>(request_sectors(req) * 512);
  if (!m_uring_ok) {
    ssize_t n = 0;
    if (f.operation == BLKIF_OP_READ) n = preadv(m_fd, f.iov.data(), req.nr_segments, offset);
    else if (f.operation == BLKIF_OP_WRITE) n = pwritev(m_fd, f.iov.data(), req.nr_segments, offset);
    else if (f.operation == BLKIF_OP_DISCARD) n = fallocate(m_fd, kPunchHole, offset, discard_len) == 0 ? 0 : -errno;
    else n = fdatasync(m_fd) == 0 ? 0 : -errno;
    record_result(f, static_cast<int>(n));
    complete(&f);
    return true;
  }
  io_uring_sqe* sqe = io_uring_get_sqe(&m_uring);
  if (!sqe) return false;  // cannot happen: the queue is deeper than the ring
  if (f.operation == BLKIF_OP_READ) {
    io_uring_prep_readv(sqe, m_fd, f.iov.data(), req.nr_segments, offset);
  } else if (f.operation == BLKIF_OP_WRITE) {
    io_uring_prep_writev(sqe, m_fd, f.iov.data(), req.nr_segments, offset);
  } else if (f.operation == BLKIF_OP_DISCARD) {
    io_uring_prep_fallocate(sqe, m_fd, kPunchHole, offset, discard_len);
  } else {
    // The durability contract: a flush is answered after fdatasync, and it
    // covers every write submitted before it (IO_DRAIN waits for them).
    io_uring_prep_fsync(sqe, m_fd, IORING_FSYNC_DATASYNC);
    sqe->flags |= IOSQE_IO_DRAIN;
  }
  io_uring_sqe_set_data(sqe, &f);
  f.cqes_pending = 1;
  return true;
}

void BlkBack::on_uring_ready() {
  io_uring_cqe* cqe = nullptr;
  while (io_uring_peek_cqe(&m_uring, &cqe) == 0) {
    auto* f = static_cast<InFlight*>(io_uring_cqe_get_data(cqe));
    int res = cqe->res;
    io_uring_cqe_seen(&m_uring, cqe);
    if (!f) continue;
    record_result(*f, res);
    if (--f->cqes_pending == 0) complete(f);
  }
  push_responses();
}

void BlkBack::record_result(InFlight& f, int res) {
  // A file system without hole punching answers a discard EOPNOTSUPP, and the
  // frontend hears so.
  if (f.operation == BLKIF_OP_DISCARD && res == -EOPNOTSUPP) f.unsupported = true;
  // FIXME: a short transfer is answered as an error; resubmitting the rest
  // would be kinder, but a regular file in range does not return one.
  if (res < 0 || (has_segments(f.operation) && static_cast<uint64_t>(res) != f.expected_bytes)) f.failed = true;
}

void BlkBack::complete(InFlight* f) {
  for (unsigned i = 0; i < f->nr_maps; ++i) m_domain.gnttab().unmap(f->map_handles[i]);
  --m_inflight;
  int16_t status = f->unsupported ? BLKIF_RSP_EOPNOTSUPP : f->failed ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
  respond(f->id, f->operation, status);
  delete f;
}

void BlkBack::respond(uint64_t id, uint8_t operation, int16_t status) {
  ++m_served;
  if (!m_ring) return;
  blkif_response rsp{};
  rsp.id = id;
  rsp.operation = operation;
  rsp.status = status;
  m_ring->put_response(rsp);
}

void BlkBack::push_responses() {
  if (m_ring && m_ring->push_responses() == NotifyNeeded::kYes) m_domain.notify_guest(m_port);
}

void BlkBack::drain_inflight() {
  while (m_uring_ok && m_inflight) {
    io_uring_cqe* cqe = nullptr;
    if (io_uring_wait_cqe(&m_uring, &cqe) != 0) break;
    on_uring_ready();
  }
}

}  // namespace atl::hv
