// The PV network backend (xen/io/netif.h): one guest vif, up to kMaxQueues
// queue pairs, data moved by grant copy. Transmit requests are assembled and
// checked (netif_request.h), copied out of the guest, checksummed where the
// guest left it blank, checked against the vif's MAC and handed to the uplink;
// frames from the uplink are copied into the rx buffers the guest posted.
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
#include "domain.h"
#include "event_loop.h"
#include "frame_port.h"
#include "netif_request.h"
#include "vif_config.h"
#include "xenstored.h"

namespace atl::hv {

using NetifTxSharedRing = SharedRing<netif_tx_request, netif_tx_response>;
using NetifRxSharedRing = SharedRing<netif_rx_request, netif_rx_response>;
static_assert(NetifTxSharedRing::kSize == 256 && NetifRxSharedRing::kSize == 256);

struct VifCounters {
  uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0, tx_spoofed = 0, tx_throttled = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
};

class NetBack {
 public:
  static constexpr unsigned kMaxQueues = 4;
  // Frames waiting for the guest to post rx buffers before new ones are dropped.
  static constexpr size_t kRxBacklog = 512;

  // Creates the vif device directories and publishes the backend's keys. The
  // uplink carries the vif's frames to and from the outside; it outlives the
  // NetBack (a restarted domain gets a new NetBack on the same uplink).
  static std::unique_ptr<NetBack> try_create(Domain& domain, xs::Xenstored& store, EventLoop& loop,
                                             const VifConfig& vif, uint32_t devid, FramePort& uplink,
                                             std::string& error);
  ~NetBack();
  NetBack(const NetBack&) = delete;
  NetBack& operator=(const NetBack&) = delete;

  bool connected() const { return !m_queues.empty(); }
  const VifCounters& counters() const { return m_counters; }

 private:
  struct Queue {
    unsigned index = 0;
    std::optional<BackRing<netif_tx_request, netif_tx_response>> tx;
    std::optional<BackRing<netif_rx_request, netif_rx_response>> rx;
    uint64_t tx_map = 0, rx_map = 0;
    EvtchnPort tx_port{0}, rx_port{0};
    TxAssembler assembler{kMaxFrame};
  };
  struct QueueKeys {
    GrantRef tx_ref{0}, rx_ref{0};
    EvtchnPort tx_port{0}, rx_port{0};
  };
  static constexpr uint32_t kMaxFrame = 1514 + 4;  // MTU 1500 with a VLAN tag

  NetBack(Domain& domain, xs::Xenstored& store, EventLoop& loop, const VifConfig& vif, uint32_t devid,
          FramePort& uplink)
      : m_domain(domain), m_store(store), m_loop(loop), m_vif(vif), m_devid(devid), m_uplink(uplink) {}

  // Data path (netback.cpp).
  Result<void> connect_queue(const QueueKeys& keys);
  void disconnect();
  void on_tx_notify(uint64_t generation, unsigned queue);
  void on_rx_notify(uint64_t generation, unsigned queue);
  // Takes transmit requests off the ring until it is empty or the rate limit bites.
  void drain_tx(Queue& q);
  void transmit(Queue& q, const TxPacket& packet);
  void answer_tx(Queue& q, const TxPacket& packet, int16_t status);
  void on_uplink_frame(std::span<const uint8_t> frame);
  // Copies backlogged frames into posted rx buffers; true when any went out.
  void fill_rx();
  bool deliver(Queue& q, std::span<const uint8_t> frame);
  Queue& rx_queue_for(std::span<const uint8_t> frame);
  bool take_credit(uint32_t bytes);
  // Resumes transmit when the rate limit's credit refills.
  void schedule_refill();
  void fail_vif(const char* why);

  // Xenstore side (netback_xenbus.cpp).
  void publish_backend_keys();
  void on_frontend_state();
  void set_state(XenbusState state);
  Result<void> connect_from_keys();

  Domain& m_domain;
  xs::Xenstored& m_store;
  EventLoop& m_loop;
  VifConfig m_vif;
  uint32_t m_devid;
  FramePort& m_uplink;
  std::string m_fe_path;
  std::string m_be_path;
  uint64_t m_watch = 0;
  XenbusState m_state = XenbusStateInitialising;
  bool m_csum_blank_ok = true;  // the frontend may send NETTXF_csum_blank

  std::vector<std::unique_ptr<Queue>> m_queues;
  std::deque<std::vector<uint8_t>> m_rx_backlog;
  std::vector<uint8_t> m_frame;  // the packet being copied out of the guest
  uint64_t m_generation = 0;
  // Rate limit: bytes of credit, refilled every m_vif.rate_interval_ns.
  uint64_t m_credit = 0;
  uint64_t m_credit_time = 0;
  std::optional<EventLoop::TimerId> m_refill_timer;
  std::optional<EventLoop::TimerId> m_rx_retry_timer;
  VifCounters m_counters;
  std::shared_ptr<bool> m_alive = std::make_shared<bool>(true);
};

// Fills in the TCP or UDP checksum a guest left blank (NETTXF_csum_blank) in
// an Ethernet frame carrying IPv4 or IPv6; false when the frame is not one
// whose checksum can be completed (it is then sent as it is).
bool complete_checksum(std::span<uint8_t> frame);

}  // namespace atl::hv
