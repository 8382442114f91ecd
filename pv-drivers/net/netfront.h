// The PV network frontend (xen/io/netif.h): up to kMaxQueues queues (as many
// as the backend's multi-queue-max-queues allows), each a tx and an rx ring on
// its own event channel, data moved by the backend's grant copies into and out
// of buffers granted once when the device connects (persistent grants: no grant
// operation per packet).
//
//   queues  transmit() picks a queue by a hash of the frame's flow (addresses
//           and ports), so a flow keeps its order; poll_rx() drains them all.
//
//   tx  a frame is copied into as many of the queue's granted pages as it
//       spans, one request (slot) a page; the pages are reused once the
//       backend answers. TCP checksums are left to the backend
//       (NETTXF_csum_blank), and a TCP segment larger than the MTU goes out
//       whole with a GSO extra (TSO) when the backend accepts them.
//   rx  kRxBuffers whole pages stay posted on the rx ring; a received packet
//       (one page, or several chained with NETRXF_more_data when the backend
//       coalesced a TCP stream: GSO) is handed to the receiver in place and
//       its pages are posted again after.
//
// netfront.cpp is the data path, netfront_xenbus.cpp the keys and handshake.
// Threads: transmit() may block the caller while the tx ring is full;
// poll_rx() runs in whichever thread the network stack dedicates to it; the
// event handler (an upcall) only wakes threads.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <xen/io/netif.h>

#include <array>
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "atoll/result.h"
#include "atoll/sched.h"
#include "atoll/shared_ring.h"
#include "atoll/types.h"
#include "atoll/xenbus_device.h"

namespace atl::net {

using NetifTxFrontRing = FrontRing<netif_tx_request, netif_tx_response>;
using NetifRxFrontRing = FrontRing<netif_rx_request, netif_rx_response>;

struct NetCounters {
  uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0, tx_gso = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, rx_errors = 0, rx_gso = 0;
};

// What the backend agreed to at the last connect.
struct NetOffloads {
  bool sg = false;         // frames over several slots
  bool tso4 = false, tso6 = false;  // GSO extras on transmit (needs sg)
  bool ipv6_csum = false;  // NETTXF_csum_blank for IPv6 (IPv4's is baseline)
};

// A received packet: its bytes in up to kMaxRxSlots pieces (valid only during
// the receive callback) and what the backend said of its checksum.
struct RxPacket {
  static constexpr unsigned kMaxRxSlots = 18;
  std::array<std::span<const uint8_t>, kMaxRxSlots> pieces{};
  unsigned count = 0;
  size_t size = 0;
  bool checksum_blank = false;  // the TCP/UDP field holds the pseudo-header sum only
  bool data_validated = false;  // the backend vouches for the checksums
  uint16_t gso_size = 0;        // non-zero: a coalesced TCP stream
};

// Static addressing the toolstack gave the vif (its backend's `ip` key).
struct StaticIp {
  uint32_t address = 0, netmask = 0, gateway = 0;  // network byte order
  uint32_t dns = 0;                                // 0: none given
};

class NetFront final : private xs::XenbusDriver {
 public:
  static constexpr size_t kMtu = 1500;
  static constexpr size_t kMaxFrame = 1514 + 4;  // without GSO: the MTU and a VLAN tag
  static constexpr size_t kMaxGsoFrame = 65535;  // a TCP segment sent with a GSO extra
  static constexpr unsigned kMaxQueues = 2;
  static constexpr unsigned kTxPages = 128;    // per queue
  static constexpr unsigned kRxBuffers = 128;  // per queue

  // Starts the handshake for `device_path` ("device/vif/<id>").
  static Result<std::unique_ptr<NetFront>> try_create(xs::Client& client, const std::string& device_path);
  ~NetFront();

  Result<void> wait_connected(uint64_t deadline_ns);
  bool connected() const { return m_connected; }
  // An orderly close through xenbus, and a reconnect (see BlkFront).
  Result<void> close(uint64_t deadline_ns);
  Result<void> reopen(uint64_t deadline_ns);

  // Sends one frame gathered from `pieces`. Blocks while the ring is full;
  // kNoDev when not connected, kInval for an oversized frame (one over
  // kMaxFrame must be TCP, and tso() true for its family). With `defer`,
  // the backend is told later, by flush_tx(): a burst costs one notification.
  Result<void> transmit(std::span<const std::span<const uint8_t>> pieces, bool defer = false);
  // Notifies the backend of frames transmit(defer) queued, if it asked for it,
  // by the time this thread waits or the guest idles (evtchn::send_deferred).
  void flush_tx();
  // Hands every received packet to `receive` (valid only during the call) and
  // reposts the buffers; returns how many packets it handed over.
  template <typename F>
  unsigned poll_rx(F&& receive) {
    return poll_rx_impl([](void* ctx, const RxPacket& packet) { (*static_cast<F*>(ctx))(packet); }, &receive);
  }
  // Whether a TCP segment of up to kMaxGsoFrame may be sent for the family.
  bool tso(bool ipv6) const { return m_connected && (ipv6 ? m_offloads.tso6 : m_offloads.tso4); }
  const NetOffloads& offloads() const { return m_offloads; }
  // Whether poll_rx() would find something (for the rx thread's wait).
  bool rx_pending() const;
  // The rx thread sleeps here; the event handler wakes it.
  sched::WaitQueue& rx_waiters() { return m_rx_waiters; }

  const std::array<uint8_t, 6>& mac() const { return m_mac; }
  const std::optional<StaticIp>& static_ip() const { return m_static_ip; }
  const NetCounters& counters() const { return m_counters; }
  // The queues negotiated at the last connect, and each one's share of counters().
  unsigned queue_count() const { return m_queue_count; }
  const NetCounters& queue_counters(unsigned queue) const { return m_queues[queue].counters; }
  const std::string& path() const { return m_device->path(); }

 private:
  using Receive = void (*)(void*, const RxPacket&);

  // One queue's rings, event channel and persistently granted pages.
  struct Queue {
    NetFront* owner = nullptr;
    void* tx_page = nullptr;
    void* rx_page = nullptr;
    std::optional<NetifTxFrontRing> tx;
    std::optional<NetifRxFrontRing> rx;
    std::optional<GrantRef> tx_ref, rx_ref;
    std::optional<EvtchnPort> port;
    uint8_t* tx_buffers = nullptr;
    uint8_t* rx_buffers = nullptr;
    std::array<std::optional<GrantRef>, kTxPages> tx_grants{};
    std::array<std::optional<GrantRef>, kRxBuffers> rx_grants{};
    std::array<uint16_t, kTxPages> tx_free{};  // a stack of free tx page ids
    unsigned tx_free_count = 0;
    std::array<bool, kTxPages> tx_busy{};  // handed to the backend, not answered
    unsigned tx_pages = 0;                  // kTxPages with TSO, half without
    // rx: which buffers are on the ring, which buffer each ring slot was
    // posted with (an extra-info response names none), and the packet being
    // assembled (its buffers go back on the ring when it is complete).
    std::array<bool, kRxBuffers> rx_posted{};
    std::array<uint16_t, NetifRxFrontRing::kSize> rx_slot_buffer{};
    std::array<uint16_t, kRxBuffers> rx_taken{};
    unsigned rx_taken_count = 0;
    RxPacket rx_packet;
    bool rx_more = false, rx_extra = false, rx_bad = false;
    NetCounters counters;
    bool tx_notify_pending = false;
  };

  // The netif-rx fuzz target (tests/fuzz/netif_rx_fuzz.cpp) keeps the
  // queues as a connect left them and puts them back before each input,
  // instead of a reconnect per input.
  friend struct NetFrontSnapshot;

  NetFront() = default;

  // xenbus side (netfront_xenbus.cpp).
  Result<void> on_backend_ready(xs::XenbusDevice& device) override;
  Result<void> on_connected(xs::XenbusDevice& device) override;
  void on_closing(xs::XenbusDevice& device) override;
  void on_closed(xs::XenbusDevice& device) override;

  // Data path (netfront.cpp).
  Result<void> setup_rings(DomId backend, unsigned queues);
  Result<void> setup_queue(Queue& q);
  void free_rings();
  void post_rx_buffers();
  static void post_rx(Queue& q, uint16_t buffer);
  static void reap_tx(Queue& q);
  unsigned poll_rx_impl(Receive receive, void* ctx);
  unsigned poll_rx_queue(Queue& q, Receive receive, void* ctx);
  // Takes one rx response into q's packet; true when the packet is complete.
  bool take_rx_slot(Queue& q);
  void finish_rx_packet(Queue& q, Receive receive, void* ctx, unsigned& packets);
  static void on_event(EvtchnPort port, void* data);

  std::unique_ptr<xs::XenbusDevice> m_device;
  sched::WaitQueue m_tx_waiters;
  sched::WaitQueue m_rx_waiters;
  sched::WaitQueue m_state_waiters;
  DomId m_backend{0};
  std::array<Queue, kMaxQueues> m_queues{};
  unsigned m_queue_count = 0;  // 0 while no rings are set up
  std::array<uint8_t, 6> m_mac{};
  std::optional<StaticIp> m_static_ip;
  NetOffloads m_offloads;
  NetCounters m_counters;
  bool m_connected = false;
  bool m_handshake_done = false;
  bool m_rings_freed = true;
};

// Finds the domain's vifs (device/vif/*), connects them and waits (up to 5 s);
// returns how many are connected. Called once by the network stack.
Result<unsigned> probe();
NetFront* device(unsigned index);

}  // namespace atl::net
