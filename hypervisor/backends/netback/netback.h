// The PV network backend (xen/io/netif.h): one guest vif, up to kMaxQueues
// queue pairs, data moved by grant copy. Transmit requests are assembled and
// checked (netif_request.h), copied out of the guest, checked against the
// vif's MAC and handed to the uplink: with their checksum offload and GSO
// metadata when the uplink carries it (a TAP with a virtio-net header), else
// checksummed and segmented here (checksum.h, gso.h). A GSO packet for such
// an uplink is not copied whole: its headers are, and the payload is handed
// to the uplink's writev in place (send_in_place). Frames from the uplink
// are copied into the rx buffers the guest posted: as multi-slot, GSO and
// blank-checksum packets to a frontend that asked for them, else as single
// complete frames.
//
// netback.cpp is the data path; netback_xenbus.cpp the xenstore side (keys,
// handshake, queues); vif_config.cpp parses the --net option.
#pragma once

#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "atoll/shared_ring.h"
#include "atoll/types.h"
#include "backend_device.h"
#include "domain.h"
#include "event_loop.h"
#include "frame_headers.h"
#include "frame_port.h"
#include "handshake_helper.h"
#include "netif_request.h"
#include "rx_packet.h"
#include "vif_config.h"
#include "xenstored.h"

namespace atl::hv {

using NetifTxSharedRing = SharedRing<netif_tx_request, netif_tx_response>;
static_assert(NetifTxSharedRing::kSize == 256 && NetifRxSharedRing::kSize == 256);

struct VifCounters {
  uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0, tx_spoofed = 0, tx_throttled = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
  // GSO packets the guest sent, and GSO packets the guest got as such.
  uint64_t tx_gso = 0, rx_gso = 0;
};

class NetBack final : private BackendDevice {
 public:
  static constexpr unsigned kMaxQueues = 4;
  // Packets (and their bytes) waiting for the guest to post rx buffers before
  // new ones are dropped.
  static constexpr size_t kRxBacklog = 512;
  static constexpr size_t kRxBacklogBytes = 2 << 20;
  // Past half of either, the uplink is paused until the guest has taken the
  // backlog: a fast uplink (passt) then waits instead of losing packets.
  static constexpr size_t kRxPauseAt = kRxBacklog / 2;
  static constexpr size_t kRxPauseAtBytes = kRxBacklogBytes / 2;

  // Creates the vif device directories and publishes the backend's keys. The
  // uplink carries the vif's frames to and from the outside; it outlives the
  // NetBack (a restarted domain gets a new NetBack on the same uplink).
  static std::unique_ptr<NetBack> try_create(Domain& domain, xs::Xenstored& store, EventLoop& loop,
                                             const VifConfig& vif, uint32_t devid, FramePort& uplink,
                                             std::string& error);
  ~NetBack() override;

  bool connected() const { return !m_queues.empty(); }
  const VifCounters& counters() const { return m_counters; }

 private:
  struct Queue {
    unsigned index = 0;
    std::optional<BackRing<netif_tx_request, netif_tx_response>> tx;
    std::optional<BackRing<netif_rx_request, netif_rx_response>> rx;
    NetifRxSharedRing* rx_shared = nullptr;  // for req_event when a packet needs several slots
    uint64_t tx_map = 0, rx_map = 0;
    EvtchnPort tx_port{0}, rx_port{0};
    std::vector<uint32_t> backend_ports;  // our ends of them, given back at disconnect
    TxAssembler assembler{kMaxFrame};
  };
  struct QueueKeys {
    GrantRef tx_ref{0}, rx_ref{0};
    EvtchnPort tx_port{0}, rx_port{0};
  };
  static constexpr uint32_t kMaxFrame = 1514 + 4;  // MTU 1500 with a VLAN tag

  NetBack(Domain& domain, xs::Xenstored& store, EventLoop& loop, const VifConfig& vif, uint32_t devid,
          FramePort& uplink)
      : BackendDevice(domain, store, "vif", devid), m_loop(loop), m_vif(vif), m_uplink(uplink) {}

  // Data path (netback.cpp).
  Result<void> connect_queue(const QueueKeys& keys);
  void disconnect() override;
  void on_tx_notify(uint64_t generation, unsigned queue);
  void on_rx_notify(uint64_t generation, unsigned queue);
  // Takes transmit requests off the ring until it is empty or the rate limit
  // bites. A ring the frontend broke costs the device its rings (fail()),
  // which destroys every queue, `q` among them.
  void drain_tx(Queue& q);
  // drain_tx() on each queue in turn, up to the first that cost the device its rings.
  void drain_every_tx();
  void transmit(Queue& q, const TxPacket& packet);
  enum class TxVerdict { kSent, kRefused, kSpoofed, kMalformed };
  // Copies the packet out of the guest into m_frame, checks it and sends it.
  TxVerdict send_copied(const TxPacket& packet);
  // A GSO packet for an uplink that takes it whole: only the headers are
  // copied (into m_frame) and checked, the payload is read in place.
  TxVerdict send_in_place(const TxPacket& packet);
  // Works out the offload metadata of m_frame (GSO checked, pseudo-header
  // seeded, `h` filled) or completes its checksum; false when a GSO packet is
  // malformed.
  bool prepare_tx_offload(const TxPacket& packet, FrameOffload& offload, FrameHeaders& h);
  // The GSO part of it, from the frame's headers (`head`, a private copy
  // whose checksum field is seeded) and its size.
  bool prepare_gso_offload(const TxPacket& packet, std::span<uint8_t> head, size_t frame_size,
                           FrameOffload& offload, FrameHeaders& h);
  void answer_tx(Queue& q, const TxPacket& packet, int16_t status);
  void on_uplink_frame(std::span<const uint8_t> frame, const FrameOffload& offload);
  void queue_rx(RxPacket packet);
  // Copies backlogged packets into posted rx buffers.
  void fill_rx();
  void arm_rx_retry();
  // Copies one packet into as many posted buffers as it needs; false (nothing
  // taken) when fewer are posted.
  bool deliver(Queue& q, const RxPacket& packet);
  Queue& rx_queue_for(std::span<const uint8_t> frame);
  // Whether the rate limit lets a packet start now (the credit refilled
  // first), and the charge for the one taken then, by the size in the copy
  // of its first slot.
  bool has_credit();
  void charge(uint32_t bytes) {
    if (m_vif.rate_bytes != 0) m_credit -= bytes;
  }
  // Resumes transmit when the rate limit's credit refills.
  void schedule_refill();

  // Xenstore side (netback_xenbus.cpp).
  Result<void> connect_from_keys() override;
  void on_connected() override;

  EventLoop& m_loop;
  VifConfig m_vif;
  FramePort& m_uplink;
  FrontendFeatures m_fe;
  std::optional<HandshakeHelper> m_handshakes;  // for an uplink that leaves them open

  std::vector<std::unique_ptr<Queue>> m_queues;
  std::deque<RxPacket> m_rx_backlog;
  size_t m_rx_backlog_bytes = 0;
  std::vector<uint8_t> m_frame;  // the packet (or its headers) being copied out of the guest
  uint64_t m_generation = 0;
  // Rate limit: bytes of credit (negative: a debt), refilled every
  // m_vif.rate_interval_ns.
  int64_t m_credit = 0;
  uint64_t m_credit_time = 0;
  std::optional<EventLoop::TimerId> m_refill_timer;
  std::optional<EventLoop::TimerId> m_rx_retry_timer;
  VifCounters m_counters;
};

}  // namespace atl::hv
