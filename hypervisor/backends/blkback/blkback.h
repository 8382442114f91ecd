// The PV block backend (xen/io/blkif.h): serves one guest's virtual disk from a
// raw image file. Up to 4 queues by default (multi-queue-max-queues), each a
// ring of up to 16 contiguous pages (max-ring-page-order 4) with its own event
// channel; READ, WRITE, FLUSH_DISKCACHE (bare, or carrying a write: write then
// fdatasync), WRITE_BARRIER (the same, after every earlier request and before
// any later one, on every queue), DISCARD (a hole punched in the file) and INDIRECT (up to 256 segments
// in up to 8 indirect pages). With feature-persistent the frontend's pages
// stay mapped, cached by grant ref (at most 256 per device), instead of
// map/unmap per request. File I/O goes through io_uring, whose completion fd
// is on the hypervisor's EventLoop, so a slow request never holds up the others;
// one io_uring serves every queue.
//
// blkback.cpp is the data path (ring, grants, io_uring); blkback_xenbus.cpp is
// the xenstore side (keys, state changes, connect and disconnect).
#pragma once

#include <liburing.h>
#include <sys/uio.h>
#include <xen/io/blkif.h>
#include <xen/io/xenbus.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "atoll/shared_ring.h"
#include "atoll/types.h"
#include "backend_device.h"
#include "blkback_request.h"
#include "blkback_xenbus.h"
#include "disk_config.h"
#include "domain.h"
#include "event_loop.h"
#include "xenstored.h"

namespace atl::hv {

using BlkifSharedRing = SharedRing<blkif_request, blkif_response>;
using BlkifBackRing = BackRing<blkif_request, blkif_response>;
static_assert(BlkifSharedRing::kSize == 32);
static_assert(BlkifSharedRing::size_for_pages(1u << kMaxRingPageOrder) == 512);

// What a vbd has done, for `atoll top`: requests answered OK by kind, the
// bytes they moved, and requests answered with an error (or refused).
struct DiskCounters {
  uint64_t reads = 0, writes = 0, read_bytes = 0, write_bytes = 0, flushes = 0, discards = 0, errors = 0;
};

class BlkBack final : private BackendDevice {
 public:
  // Opens the disk (before the guest starts, so a bad path is a clear error),
  // creates the vbd device directories and publishes the backend's keys.
  static std::unique_ptr<BlkBack> try_create(Domain& domain, xs::Xenstored& store, EventLoop& loop,
                                             const DiskConfig& disk, uint32_t devid, std::string& error);
  ~BlkBack() override;

  bool connected() const { return !m_queues.empty(); }
  uint64_t requests_served() const { return m_served; }
  const DiskCounters& counters() const { return m_counters; }
  // Flushes carrying data sent as one RWF_DSYNC write, and bare flushes
  // answered at once, because no write since the last fdatasync needed one.
  uint64_t dsync_writes() const { return m_dsync_writes; }
  uint64_t flushes_elided() const { return m_flushes_elided; }

  // While at least this many requests are in flight the backend looks at the
  // rings on every completion and leaves req_event behind, so the frontend's
  // pushes need no notification (see docs/block.md, "Notifications").
  static constexpr unsigned kPollInFlight = 4;

  // feature-max-indirect-segments (Linux blkback's MAX_INDIRECT_SEGMENTS).
  static constexpr unsigned kMaxIndirectSegments = 256;
  // Persistent mappings kept per device; past this, pages are mapped per request.
  static constexpr size_t kMaxPersistentGrants = 256;

 private:
  struct InFlight {
    unsigned queue = 0;  // answered on this queue's ring
    uint64_t id = 0;
    uint8_t operation = 0;       // answered in the response
    uint8_t data_op = 0;         // READ or WRITE when it moves data
    bool sync_after = false;     // flush or barrier: fdatasync once written
    // A flush carrying data sent as one RWF_DSYNC write (nothing else needed syncing).
    bool dsync = false;
    uint64_t sync_covers = 0;    // the fdatasync makes writes up to this m_write_seq durable
    unsigned cqes_pending = 0;
    bool failed = false;
    bool unsupported = false;  // a discard the file system cannot punch
    unsigned nr_segments = 0;
    unsigned nr_maps = 0;      // mappings for this request only (not persistent)
    std::array<uint64_t, kMaxIndirectSegments + BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST> map_handles{};
    std::array<iovec, kMaxIndirectSegments> iov{};
    uint64_t expected_bytes = 0;
  };

  BlkBack(Domain& domain, xs::Xenstored& store, EventLoop& loop, int fd, DiskGeometry geometry, uint32_t devid)
      : BackendDevice(domain, store, "vbd", devid), m_loop(loop), m_fd(fd), m_geometry(geometry) {}

  // Data path (blkback.cpp).
  bool setup_uring(std::string& error);
  // With O_DIRECT, guest RAM is registered with io_uring in kFixedChunk
  // pieces, each on the first request into it and then pinned for the
  // domain's life, so a request whose pages are adjacent inside one piece
  // (an alloc_buffer() in the guest) goes as one READ_FIXED/WRITE_FIXED and
  // the kernel pins nothing per request. This sets up the (sparse) table;
  // false, errno set, when the kernel refuses.
  bool register_guest_ram();
  struct FixedSpan {
    uint8_t* data;
    unsigned index;  // the registered buffer holding it
  };
  // `f`'s data as one run inside one registered piece (registered now if
  // need be); nullopt otherwise (readv/writev then).
  std::optional<FixedSpan> fixed_span(const InFlight& f);
  // Maps every queue's ring and binds its event channel; all or nothing.
  Result<void> connect_rings(const FrontendRings& rings);
  // The ring's pages, mapped one by one and refused unless they are adjacent
  // in guest memory (see docs/block.md, "Multi-page rings").
  Result<BlkifSharedRing*> map_ring(const std::vector<GrantRef>& refs, std::vector<uint64_t>& maps);
  void disconnect() override;
  void on_guest_notify(uint64_t generation, unsigned queue);
  void on_uring_ready();
  // After a submit: reaps what completed inside it, and consumes again while
  // a barrier has just completed or the rings were left unarmed with fewer
  // than kPollInFlight requests in flight (no completion may come to look).
  void settle();
  // A completed fdatasync made every write up to `covers` durable.
  void note_synced(uint64_t covers);
  // Takes every completion off io_uring (responses written, not pushed).
  void reap_completions();
  void consume_requests(unsigned queue);
  void consume_all();
  void start(unsigned queue, const blkif_request& req);
  // The request's segments: from the slot, or copied out of its indirect pages.
  bool read_segments(InFlight& f, const blkif_request& req, blkif_request_segment* segs);
  // A page the frontend granted: a persistent mapping (cached, or cached now)
  // or one recorded in `f` and unmapped when it completes.
  uint8_t* map_page(InFlight& f, GrantRef ref, bool writable);
  void unmap_persistent();
  bool submit_io(InFlight& f, const blkif_request& req);
  // Marks `f` failed unless `res` (bytes, 0 or -errno) is what it expects;
  // `sync` is the fdatasync's completion.
  static void record_result(InFlight& f, int res, bool sync);
  void complete(InFlight* f);
  void respond(unsigned queue, uint64_t id, uint8_t operation, int16_t status);
  void count(const InFlight& f, int16_t status);
  void push_responses();
  void drain_inflight();

  // Xenstore side (blkback_xenbus.cpp).
  Result<void> connect_from_keys() override;
  void on_connected() override;

  EventLoop& m_loop;
  int m_fd;
  DiskGeometry m_geometry;

  io_uring m_uring{};
  bool m_uring_ok = false;
  static constexpr uint64_t kFixedChunk = uint64_t{1} << 20;
  static constexpr uint64_t kMaxFixedChunks = 16384;  // io_uring's limit on registered buffers
  enum class FixedChunk : uint8_t { kUnregistered, kRegistered, kRefused };
  std::vector<FixedChunk> m_fixed_chunks;  // empty: no table (buffered I/O, or refused)
  struct Queue {
    std::optional<BlkifBackRing> ring;
    std::vector<uint64_t> ring_maps;  // grant mapping handles, one per ring page
    EvtchnPort port{0};
    std::optional<uint32_t> backend_port;  // our end of it, given back at disconnect
  };
  std::vector<Queue> m_queues;  // empty while disconnected
  unsigned m_max_queues = 4;
  // Bumped at each connect: a notification already on its way to a port
  // given back is ignored.
  uint64_t m_generation = 0;
  unsigned m_inflight = 0;
  // The frontend wrote feature-persistent = 1: its pages stay mapped.
  bool m_persistent = false;
  std::unordered_map<uint32_t, uint8_t*> m_persistent_pages;  // by grant ref
  std::vector<uint64_t> m_persistent_handles;
  // A WRITE_BARRIER is in flight: no request is taken off the ring until it completes.
  bool m_barrier = false;
  // consume_requests() left a ring without arming req_event (enough was in
  // flight): every completion must look at the rings again.
  bool m_unarmed = false;
  uint64_t m_served = 0;
  DiskCounters m_counters;
  // Writes (and discards) submitted that an fdatasync must cover, and how many
  // of them a completed fdatasync has covered: equal means a flush has
  // nothing to do beyond the request's own data.
  uint64_t m_write_seq = 0;
  uint64_t m_synced_seq = 0;
  uint64_t m_dsync_writes = 0;
  uint64_t m_flushes_elided = 0;
  uint64_t m_fixed_io = 0;  // reads and writes sent as READ_FIXED/WRITE_FIXED
};

}  // namespace atl::hv
