// The PV network frontend (xen/io/netif.h): one queue, a tx and an rx ring on a
// shared event channel, data moved by the backend's grant copies into and out
// of buffers granted once when the device connects (persistent grants: no grant
// operation per packet).
//
//   tx  a frame is copied into one of kTxBuffers half-page buffers and its
//       request pushed; the buffer is reused once the backend answers.
//   rx  kRxBuffers whole pages stay posted on the rx ring; a received frame is
//       handed to the receiver in place and the page is posted again after.
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
  uint64_t tx_packets = 0, tx_bytes = 0, tx_errors = 0;
  uint64_t rx_packets = 0, rx_bytes = 0, rx_errors = 0;
};

// Static addressing the toolstack gave the vif (its backend's `ip` key).
struct StaticIp {
  uint32_t address = 0, netmask = 0, gateway = 0;  // network byte order
};

class NetFront final : private xs::XenbusDriver {
 public:
  static constexpr size_t kMaxFrame = 1514 + 4;
  static constexpr unsigned kTxBuffers = 128;
  static constexpr unsigned kRxBuffers = 128;

  // Starts the handshake for `device_path` ("device/vif/<id>").
  static Result<std::unique_ptr<NetFront>> try_create(xs::Client& client, const std::string& device_path);
  ~NetFront();

  Result<void> wait_connected(uint64_t deadline_ns);
  bool connected() const { return m_connected; }
  // An orderly close through xenbus, and a reconnect (see BlkFront).
  Result<void> close(uint64_t deadline_ns);
  Result<void> reopen(uint64_t deadline_ns);

  // Sends one frame gathered from `pieces`. Blocks while the ring is full;
  // kNoDev when not connected, kInval for an oversized frame. With `defer`,
  // the backend is told later, by flush_tx(): a burst costs one notification.
  Result<void> transmit(std::span<const std::span<const uint8_t>> pieces, bool defer = false);
  // Notifies the backend of frames transmit(defer) queued, if it asked for it.
  void flush_tx();
  // Hands every received frame to `receive` (valid only during the call) and
  // reposts the buffers; returns how many frames it handed over.
  template <typename F>
  unsigned poll_rx(F&& receive) {
    return poll_rx_impl([](void* ctx, std::span<const uint8_t> frame) { (*static_cast<F*>(ctx))(frame); }, &receive);
  }
  // Whether poll_rx() would find something (for the rx thread's wait).
  bool rx_pending() const;
  // The rx thread sleeps here; the event handler wakes it.
  sched::WaitQueue& rx_waiters() { return m_rx_waiters; }

  const std::array<uint8_t, 6>& mac() const { return m_mac; }
  const std::optional<StaticIp>& static_ip() const { return m_static_ip; }
  const NetCounters& counters() const { return m_counters; }
  const std::string& path() const { return m_device->path(); }

 private:
  NetFront() = default;

  // xenbus side (netfront_xenbus.cpp).
  Result<void> on_backend_ready(xs::XenbusDevice& device) override;
  Result<void> on_connected(xs::XenbusDevice& device) override;
  void on_closing(xs::XenbusDevice& device) override;
  void on_closed(xs::XenbusDevice& device) override;

  // Data path (netfront.cpp).
  Result<void> setup_rings(DomId backend);
  void free_rings();
  void post_rx_buffers();
  void reap_tx();
  unsigned poll_rx_impl(void (*receive)(void*, std::span<const uint8_t>), void* ctx);
  static void on_event(EvtchnPort port, void* data);

  std::unique_ptr<xs::XenbusDevice> m_device;
  sched::WaitQueue m_tx_waiters;
  sched::WaitQueue m_rx_waiters;
  sched::WaitQueue m_state_waiters;
  DomId m_backend{0};
  void* m_tx_page = nullptr;
  void* m_rx_page = nullptr;
  std::optional<NetifTxFrontRing> m_tx;
  std::optional<NetifRxFrontRing> m_rx;
  std::optional<GrantRef> m_tx_ref, m_rx_ref;
  std::optional<EvtchnPort> m_port;
  // Buffers and their persistent grants: tx buffers are half pages, two per page.
  uint8_t* m_tx_buffers = nullptr;
  uint8_t* m_rx_buffers = nullptr;
  std::array<std::optional<GrantRef>, kTxBuffers / 2> m_tx_grants{};
  std::array<std::optional<GrantRef>, kRxBuffers> m_rx_grants{};
  std::array<uint16_t, kTxBuffers> m_tx_free{};  // a stack of free tx buffer ids
  unsigned m_tx_free_count = 0;
  std::array<uint8_t, 6> m_mac{};
  std::optional<StaticIp> m_static_ip;
  NetCounters m_counters;
  bool m_connected = false;
  bool m_handshake_done = false;
  bool m_rings_freed = true;
  bool m_tx_notify_pending = false;
};

// Finds the domain's vifs (device/vif/*), connects them and waits (up to 5 s);
// returns how many are connected. Called once by the network stack.
Result<unsigned> probe();
NetFront* device(unsigned index);

}  // namespace atl::net
