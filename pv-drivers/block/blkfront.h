// The PV block frontend (xen/io/blkif.h): one ring to the backend, READ, WRITE,
// FLUSH_DISKCACHE and DISCARD, and a blocking API for threads. Each request grants the
// caller's pages (a bounce buffer when the caller's is not sector-aligned) for
// its duration only.
//
// blkfront.cpp is the data path (ring, grants, waiting); blkfront_xenbus.cpp is
// the xenbus side (ring keys, the backend's disk keys, probe()).
//
// Threads: I/O calls block the calling thread; the event handler only wakes
// waiters, and whichever waiter runs next takes the responses off the ring.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <xen/io/blkif.h>

#include <array>
#include <memory>
#include <optional>
#include <string>

#include "atoll/result.h"
#include "atoll/sched.h"
#include "atoll/shared_ring.h"
#include "atoll/types.h"
#include "atoll/xenbus_device.h"

namespace atl::blk {

using BlkifFrontRing = FrontRing<blkif_request, blkif_response>;

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

  // Blocking I/O in 512-byte sectors. Errors: kNoDev (not connected), kRange
  // (past the end), kIo (the backend refused: a read-only disk, say).
  Result<void> read(uint64_t sector, void* buf, size_t sectors);
  Result<void> write(uint64_t sector, const void* buf, size_t sectors);
  // Returns once every write acknowledged before it is on stable storage.
  Result<void> flush();
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

 private:
  struct Slot {
    bool busy = false;
    bool done = false;
    int16_t status = 0;
  };

  BlkFront() = default;

  // xenbus side (blkfront_xenbus.cpp).
  Result<void> on_backend_ready(xs::XenbusDevice& device) override;
  Result<void> on_connected(xs::XenbusDevice& device) override;
  void on_closing(xs::XenbusDevice& device) override;
  void on_closed(xs::XenbusDevice& device) override;

  // Data path (blkfront.cpp).
  Result<void> setup_ring(DomId backend);
  void free_ring();
  Result<void> transfer(uint8_t operation, uint64_t sector, uint8_t* buf, size_t sectors);
  Result<void> transfer_chunk(uint8_t operation, uint64_t sector, uint8_t* buf, size_t sectors);
  // Puts `req` on the ring (id = a free slot) and waits for its response.
  Result<void> submit_and_wait(blkif_request& req);
  void poll_responses();
  void fail_pending();
  static void on_event(EvtchnPort port, void* data);

  std::unique_ptr<xs::XenbusDevice> m_device;
  sched::WaitQueue m_waiters;
  void* m_ring_page = nullptr;
  std::optional<BlkifFrontRing> m_ring;
  std::optional<GrantRef> m_ring_ref;
  std::optional<EvtchnPort> m_port;
  DomId m_backend{0};
  std::array<Slot, BlkifFrontRing::kSize> m_slots{};
  bool m_connected = false;
  bool m_handshake_done = false;  // connected or failed: wait_connected() returns
  bool m_ring_freed = true;       // no ring, or the backend let go of it: close() returns
  uint64_t m_sectors = 0;
  uint32_t m_info = 0;
  bool m_feature_flush = false;
  bool m_feature_discard = false;
  uint32_t m_discard_granularity = 0;
};

// Finds the domain's vbd devices (device/vbd/*), connects them and waits for
// each (up to 5 s). Apps call it once before using a disk; returns how many
// are connected.
Result<unsigned> probe();
// The probed devices, in xenstore order; nullptr past the end.
BlkFront* device(unsigned index);

}  // namespace atl::blk
