// The PV block backend (xen/io/blkif.h): serves one guest's virtual disk from a
// raw image file. One ring (ring-ref + event-channel); READ, WRITE,
// FLUSH_DISKCACHE and DISCARD (a hole punched in the file). File I/O goes through io_uring, whose completion fd is on
// the hypervisor's EventLoop, so a slow request never holds up the others.
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
#include <vector>

#include "atoll/shared_ring.h"
#include "atoll/types.h"
#include "blkback_request.h"
#include "domain.h"
#include "event_loop.h"
#include "xenstored.h"

namespace atl::hv {

struct DiskConfig {
  std::string path;
  bool read_only = false;
};

// Parses `path[,ro]` (the --disk option's value); false for an unknown flag.
bool parse_disk_option(const std::string& text, DiskConfig& out);

using BlkifSharedRing = SharedRing<blkif_request, blkif_response>;
using BlkifBackRing = BackRing<blkif_request, blkif_response>;
static_assert(BlkifSharedRing::kSize == 32);

class BlkBack {
 public:
  // Opens the disk (before the guest starts, so a bad path is a clear error),
  // creates the vbd device directories and publishes the backend's keys.
  static std::unique_ptr<BlkBack> try_create(Domain& domain, xs::Xenstored& store, EventLoop& loop,
                                             const DiskConfig& disk, uint32_t devid, std::string& error);
  ~BlkBack();
  BlkBack(const BlkBack&) = delete;
  BlkBack& operator=(const BlkBack&) = delete;

  bool connected() const { return m_ring.has_value(); }
  uint64_t requests_served() const { return m_served; }

 private:
  struct InFlight {
    uint64_t id = 0;
    uint8_t operation = 0;
    unsigned cqes_pending = 0;
    bool failed = false;
    bool unsupported = false;  // a discard the file system cannot punch
    unsigned nr_maps = 0;
    std::array<uint64_t, BLKIF_MAX_SEGMENTS_PER_REQUEST> map_handles{};
    std::array<iovec, BLKIF_MAX_SEGMENTS_PER_REQUEST> iov{};
    uint64_t expected_bytes = 0;
  };

  BlkBack(Domain& domain, xs::Xenstored& store, EventLoop& loop, int fd, DiskGeometry geometry, uint32_t devid)
      : m_domain(domain), m_store(store), m_loop(loop), m_fd(fd), m_geometry(geometry), m_devid(devid) {}

  // Data path (blkback.cpp).
  bool setup_uring(std::string& error);
  Result<void> connect_ring(GrantRef ring_ref, EvtchnPort port);
  void disconnect_ring();
  void on_guest_notify(uint64_t generation);
  void on_uring_ready();
  void start(const blkif_request& req);
  bool submit_io(InFlight& f, const blkif_request& req);
  // Marks `f` failed unless `res` (bytes, 0 or -errno) is what it expects.
  static void record_result(InFlight& f, int res);
  void complete(InFlight* f);
  void respond(uint64_t id, uint8_t operation, int16_t status);
  void push_responses();
  void drain_inflight();
  // Ends the connection after a protocol violation (ring overrun).
  void fail_device(const char* why);

  // Xenstore side (blkback_xenbus.cpp).
  void publish_backend_keys();
  void on_frontend_state();
  void set_state(XenbusState state);
  Result<void> connect_from_keys();

  Domain& m_domain;
  xs::Xenstored& m_store;
  EventLoop& m_loop;
  int m_fd;
  DiskGeometry m_geometry;
  uint32_t m_devid;
  std::string m_fe_path;
  std::string m_be_path;
  uint64_t m_watch = 0;
  XenbusState m_state = XenbusStateInitialising;

  io_uring m_uring{};
  bool m_uring_ok = false;
  std::optional<BlkifBackRing> m_ring;
  uint64_t m_ring_map = 0;
  EvtchnPort m_port{0};
  // Every bound port keeps its callback; older generations are ignored.
  uint64_t m_generation = 0;
  unsigned m_inflight = 0;
  uint64_t m_served = 0;
  // Captured by callbacks that can outlive us (the domain's end hook).
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

}  // namespace atl::hv
