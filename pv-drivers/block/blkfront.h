// The PV block frontend (xen/io/blkif.h): one ring to the backend, READ, WRITE
// and FLUSH_DISKCACHE, and a blocking API for threads. Each request grants the
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

  // Blocking I/O in 512-byte sectors. Errors: kNoDev (not connected), kRange
  // (past the end), kIo (the backend refused: a read-only disk, say).
  Result<void> read(uint64_t sector, void* buf, size_t sectors);
  Result<void> write(uint64_t sector, const void* buf, size_t sectors);
  // Returns once every write acknowledged before it is on stable storage.
  Result<void> flush();

  uint64_t sectors() const { return m_sectors; }
  bool read_only() const { return (m_info & VDISK_READONLY) != 0; }
  bool has_flush() const { return m_feature_flush; }
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
  uint64_t m_sectors = 0;
  uint32_t m_info = 0;
  bool m_feature_flush = false;
};

// Finds the domain's vbd devices (device/vbd/*), connects them and waits for
// each (up to 5 s). Apps call it once before using a disk; returns how many
// are connected.
Result<unsigned> probe();
// The probed devices, in xenstore order; nullptr past the end.
BlkFront* device(unsigned index);

}  // namespace atl::blk
