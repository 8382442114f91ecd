// The PV block frontend (xen/io/blkif.h): READ, WRITE, FLUSH_DISKCACHE (bare,
// or carrying a write), DISCARD and INDIRECT, over up to 4 rings (queues, as
// the backend's multi-queue-max-queues allows), each of one or more pages
// (max-ring-page-order).
//
// I/O is asynchronous underneath: submit() queues a caller-owned Request and
// returns; up to 64 ring requests are in flight at once, from one thread or
// many, spread over the queues round-robin. Requests that do not fit wait in
// a FIFO, and adjacent reads or writes waiting there are merged into one ring
// slot when they are issued. Data moves through persistent grants (blkfront_grant_pool.h): pages
// granted once and copied into and out of, so the caller's buffer may have any
// alignment and nothing is granted per request. A buffer from alloc_buffer()
// is granted once itself, and I/O into and out of it is not copied. With the backend's
// feature-max-indirect-segments a slot carries up to 64 pages (256 KiB)
// through one indirect page; without it, 11.
//
// The blocking calls (read, write, flush, discard) are submit() + wait().
//
// blkfront.cpp is the data path (ring, grants, queue); blkfront_xenbus.cpp is
// the xenbus side (ring keys, the backend's disk keys, probe()).
//
// Threads: threads are cooperative and the event handler only wakes waiters;
// responses are taken off the ring by whichever thread is in wait() or poll()
// (or submit()), and completion callbacks run on that thread.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <xen/io/blkif.h>

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "atoll/result.h"
#include "atoll/sched.h"
#include "atoll/shared_ring.h"
#include "atoll/types.h"
#include "atoll/xenbus_device.h"
#include "blkfront_grant_pool.h"

namespace atl::blk {

using BlkifFrontRing = FrontRing<blkif_request, blkif_response>;

// The ring-page-order a frontend asks for: the smallest whose rings, over
// `queues` queues, hold `in_flight` requests, and at most `backend_max_order`.
constexpr unsigned ring_page_order_for(unsigned queues, unsigned in_flight, unsigned backend_max_order) {
  unsigned order = 0;
  while (order < backend_max_order && queues * BlkifFrontRing::Shared::size_for_pages(1u << order) < in_flight) ++order;
  return order;
}

enum class Op : uint8_t {
  kRead,
  kWrite,
  // A write that returns once its sectors and every write completed before it
  // are on stable storage: FLUSH_DISKCACHE carrying the data (11 pages per
  // ring request: INDIRECT wraps only reads and writes). Needs has_flush().
  kWriteFlush,
  kFlush,    // no data: every write completed before it reaches stable storage
  kDiscard,  // no data: the sectors read back as zeroes afterwards
};

// One I/O, owned by the caller from submit() until it is done (wait()
// returned, or on_complete ran): the object and its buffer must stay put.
struct Request {
  Op op = Op::kRead;
  uint64_t sector = 0;
  void* buf = nullptr;  // read into / written from; any alignment (see alloc_buffer)
  size_t sectors = 0;   // 512-byte sectors; 0 for kFlush
  // Runs once, on the thread that reaps the response; it may submit() again
  // (this request too) but must not block.
  void (*on_complete)(Request&) = nullptr;
  void* context = nullptr;

  bool done() const { return m_done; }
  // Meaningful once done(): kIo (the backend refused or failed), kOpNotSupp,
  // kNoDev (the device closed first).
  Result<void> result() const { return m_error ? Result<void>(*m_error) : Result<void>(); }

 private:
  friend class BlkFront;
  Request* m_next = nullptr;  // in the waiting FIFO
  size_t m_issued = 0;        // sectors put on the ring so far
  unsigned m_slots = 0;       // ring slots out carrying part of it
  bool m_queued = false;
  bool m_done = true;
  std::optional<Errno> m_error;
};

class BlkFront final : private xs::XenbusDriver {
 public:
  static constexpr size_t kSectorSize = 512;

  // Starts the handshake for `device_path` ("device/vbd/<id>"); connect later.
  static Result<std::unique_ptr<BlkFront>> try_create(xs::Client& client, const std::string& device_path);
  ~BlkFront();

  // Waits until the device is connected (or failed); kTimedOut after `deadline_ns`.
  Result<void> wait_connected(uint64_t deadline_ns);
  bool connected() const { return m_connected; }
  // An orderly close through the xenbus handshake: fails new I/O with kNoDev,
  // waits until the backend has let go and the ring is freed (kTimedOut after
  // `deadline_ns`). reopen() connects again and waits like wait_connected().
  Result<void> close(uint64_t deadline_ns);
  Result<void> reopen(uint64_t deadline_ns);

  // Queues `req`; fails at once (and queues nothing) with kNoDev (not
  // connected), kRange (past the end), kOpNotSupp (flush or discard the
  // backend does not offer) or kInval. An empty read or write completes here.
  Result<void> submit(Request& req);
  // Blocks until `req` is done; returns its result.
  Result<void> wait(Request& req);
  // Takes responses off the ring, runs completions and issues queued requests.
  void poll();

  // Page-aligned memory for I/O without copies: its pages are granted to the
  // backend once, and a request whose buffer starts on one of its pages puts
  // them on the ring itself instead of copying through the pool (the backend
  // reads or writes them directly, as the device would DMA on hardware).
  // nullptr when memory or grant entries run out. Meant to be kept for the
  // device's life: free_buffer() ends the grants, and pages the backend still
  // maps (feature-persistent keeps them mapped until it disconnects) are
  // leaked rather than reused.
  void* alloc_buffer(size_t bytes);
  void free_buffer(void* buf);

  // Blocking I/O in 512-byte sectors. Errors: kNoDev (not connected), kRange
  // (past the end), kIo (the backend refused: a read-only disk, say).
  Result<void> read(uint64_t sector, void* buf, size_t sectors);
  Result<void> write(uint64_t sector, const void* buf, size_t sectors);
  // Returns once every write acknowledged before it is on stable storage.
  Result<void> flush();
  // write() and flush() in one ring round trip (Op::kWriteFlush).
  Result<void> write_flush(uint64_t sector, const void* buf, size_t sectors);
  // Tells the backend the sectors' contents are no longer needed: they read
  // back as zeroes and the image file gives up their space where the range
  // covers whole discard_granularity() blocks. kOpNotSupp without feature-discard.
  Result<void> discard(uint64_t sector, uint64_t sectors);

  uint64_t sectors() const { return m_sectors; }
  bool read_only() const { return (m_info & VDISK_READONLY) != 0; }
  bool has_flush() const { return m_feature_flush; }
  bool has_discard() const { return m_feature_discard; }
  // Bytes; meaningful only with has_discard().
  uint32_t discard_granularity() const { return m_discard_granularity; }
  const std::string& path() const { return m_device->path(); }
  bool has_persistent() const { return m_feature_persistent; }
  // Pages one ring slot carries: 64 with indirect descriptors, else 11.
  unsigned max_segments() const { return m_max_segments; }
  // Rings in use (multi-queue-num-queues) and each one's slots.
  unsigned queues() const { return static_cast<unsigned>(m_queues.size()); }
  uint32_t ring_size() const { return m_queues.empty() ? 0 : m_queues[0].ring->size(); }

  static constexpr unsigned kMaxQueues = 4;
  // Ring requests in flight at once, over every queue.
  static constexpr unsigned kMaxInFlight = 64;
  struct Stats {
    uint64_t slots = 0;     // ring requests sent
    uint64_t merged = 0;    // Requests that shared a slot with the one before
    uint64_t indirect = 0;  // ring requests sent as BLKIF_OP_INDIRECT
    uint64_t zero_copy = 0; // ring requests whose data pages were an alloc_buffer()'s
    std::array<uint64_t, kMaxQueues> per_queue{};  // ring requests sent on each queue
    uint64_t notifications = 0;  // event channel sends (hypercalls) to the backend
    uint64_t sleeps = 0;         // wait()s that slept on the backend's event
  };
  const Stats& stats() const { return m_stats; }
  static constexpr unsigned kMaxIndirectSegments = 64;
  // Persistently granted pages per device (data and indirect pages).
  static constexpr size_t kPoolPages = 256;

 private:
  struct PageGranter {
    DomId backend{0};
    std::optional<PooledPage> grant_page();
    bool end_grant(const PooledPage& page);
    void free_page(const PooledPage& page);
  };
  // Where a slot's bytes go: a run of one Request's buffer.
  struct Part {
    Request* req;
    size_t offset;  // bytes into req->buf
    size_t bytes;
  };
  static constexpr unsigned kMaxParts = 16;
  struct Slot {
    bool busy = false;
    unsigned queue = 0;  // the ring it went out on
    uint8_t operation = 0;
    unsigned nr_pages = 0;
    std::array<PooledPage, kMaxIndirectSegments> pages{};
    std::optional<PooledPage> indirect;
    bool borrowed = false;  // `pages` are an alloc_buffer()'s, not the pool's
    unsigned nr_parts = 0;
    std::array<Part, kMaxParts> parts{};
  };

  BlkFront() = default;

  // xenbus side (blkfront_xenbus.cpp).
  Result<void> on_backend_ready(xs::XenbusDevice& device) override;
  Result<void> on_connected(xs::XenbusDevice& device) override;
  void on_closing(xs::XenbusDevice& device) override;
  void on_closed(xs::XenbusDevice& device) override;

  // Data path (blkfront.cpp).
  // Rings on `queues` queues of 2^order pages each, granted to `backend`.
  Result<void> setup_ring(DomId backend, unsigned queues, unsigned order);
  // The xenstore keys of queue `q`'s ring (under `prefix`).
  Result<void> write_queue_keys(xs::Transaction& t, const std::string& prefix, unsigned q);
  void free_ring();
  Result<void> blocking(Op op, uint64_t sector, void* buf, size_t sectors);
  // Puts waiting requests on the ring while slots and pool pages last.
  void issue_queued();
  // Builds the next ring request from the FIFO's head into `slot`; false when
  // the pool is short of pages (nothing taken).
  bool fill_slot(Slot& slot, blkif_request& req);
  bool take_pages(Slot& slot, unsigned pages, bool indirect);
  // An alloc_buffer() memory granted to the current backend that holds
  // `bytes` from `p` (page-aligned), for a zero-copy slot.
  struct Buffer {
    uint8_t* va;
    size_t pages;
    DomId backend;
    std::vector<GrantRef> refs;
  };
  const Buffer* granted_buffer(const void* p, size_t bytes) const;
  // Takes responses off every ring and asks the backend to notify the next
  // one (final check), as before sleeping.
  void reap_responses();
  void complete_slot(Slot& slot, int16_t status);
  void finish(Request& req);
  void fail_pending();
  static void on_event(EvtchnPort port, void* data);

  std::unique_ptr<xs::XenbusDevice> m_device;
  sched::WaitQueue m_waiters;
  static constexpr unsigned kMaxRingPages = 16;
  struct Queue {
    void* pages = nullptr;  // contiguous, 2^ring_page_order of them
    std::optional<BlkifFrontRing> ring;
    std::array<std::optional<GrantRef>, kMaxRingPages> refs{};
    std::optional<EvtchnPort> port;
    bool pushed = false;  // requests written since the last push
  };
  std::vector<Queue> m_queues;  // empty without a ring
  unsigned m_ring_page_order = 0;
  unsigned m_next_queue = 0;  // round-robin
  DomId m_backend{0};
  std::array<Slot, kMaxInFlight> m_slots{};
  Request* m_queue_head = nullptr;
  Request* m_queue_tail = nullptr;
  std::optional<GrantPool<PageGranter>> m_pool;
  std::vector<Buffer> m_buffers;
  Stats m_stats;
  bool m_reaping = false;  // in poll(): submit() leaves issuing to it
  bool m_connected = false;
  bool m_handshake_done = false;  // connected or failed: wait_connected() returns
  bool m_ring_freed = true;       // no ring, or the backend let go of it: close() returns
  uint64_t m_sectors = 0;
  uint32_t m_info = 0;
  bool m_feature_flush = false;
  bool m_feature_discard = false;
  uint32_t m_discard_granularity = 0;
  bool m_feature_persistent = false;
  unsigned m_max_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
};

// Finds the domain's vbd devices (device/vbd/*), connects them and waits for
// each (up to 5 s). Apps call it once before using a disk; returns how many
// are connected.
Result<unsigned> probe();
// The probed devices, in xenstore order; nullptr past the end.
BlkFront* device(unsigned index);

}  // namespace atl::blk
