// A network frontend that speaks netif by hand, for guests that attack
// netback: no NetFront, its own tx and rx rings on the real xenbus handshake,
// one packet at a time (send) or the raw rings for anything else. Used by
// tests/boot/net/net_hostile.cpp and the stateful attacks in tests/hostile/.
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xen/io/netif.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "atoll/evtchn.h"
#include "atoll/gnttab.h"
#include "atoll/sched.h"
#include "atoll/shared_ring.h"
#include "atoll/time.h"
#include "atoll/xenbus_device.h"
#include "atoll/xenstore.h"
#include "check.h"

namespace atl::test {

using TxRing = FrontRing<netif_tx_request, netif_tx_response>;
using RxRing = FrontRing<netif_rx_request, netif_rx_response>;

constexpr size_t kPage = 4096;
constexpr unsigned kRxBuffers = 16;
constexpr uint64_t kResponseWaitNs = 2'000'000'000ULL;
constexpr uint64_t kStateWaitNs = 5'000'000'000ULL;

// Rx buffers, granted once and posted again on every connection.
alignas(kPage) inline uint8_t g_rx_buffers[kRxBuffers][kPage];

inline uint64_t after(uint64_t ns) { return time::monotonic_ns() + ns; }

class HostileVif final : public xs::XenbusDriver {
 public:
  Result<void> on_backend_ready(xs::XenbusDevice& device) override {
    backend = device.backend_id();
    tx_page = aligned_alloc(kPage, kPage);
    rx_page = aligned_alloc(kPage, kPage);
    if (!tx_page || !rx_page) return Errno::kNoMem;
    static_cast<TxRing::Shared*>(tx_page)->init();
    static_cast<RxRing::Shared*>(rx_page)->init();
    tx.emplace(static_cast<TxRing::Shared*>(tx_page));
    rx.emplace(static_cast<RxRing::Shared*>(rx_page));
    auto tx_grant = gnttab::grant_access(backend, gnttab::virt_to_gfn(tx_page), gnttab::Access::kReadWrite);
    auto rx_grant = gnttab::grant_access(backend, gnttab::virt_to_gfn(rx_page), gnttab::Access::kReadWrite);
    auto p = evtchn::alloc_unbound(backend);
    if (!tx_grant.ok() || !rx_grant.ok() || !p.ok()) return Errno::kNoSpc;
    tx_ref = *tx_grant;
    rx_ref = *rx_grant;
    port = *p;
    evtchn::bind(*port, [](EvtchnPort, void* q) { static_cast<sched::WaitQueue*>(q)->wake_all(); }, &waiters);
    for (unsigned i = 0; post_rx_buffers && i < kRxBuffers; ++i) {
      if (!rx_grants[i]) {
        auto g = gnttab::grant_access(backend, gnttab::virt_to_gfn(g_rx_buffers[i]), gnttab::Access::kReadWrite);
        if (!g.ok()) return g.error();
        rx_grants[i] = *g;
      }
      netif_rx_request& req = rx->next_request();
      req.id = static_cast<uint16_t>(i);
      req.gref = rx_grants[i]->value();
    }
    (void)rx->push_requests();  // the backend reads them when it connects
    std::vector<std::pair<std::string, std::string>> keys = {{"request-rx-copy", "1"}, {"feature-rx-notify", "1"}};
    std::string dir;
    if (idle_second_queue) {
      if (auto q = make_idle_queue(); !q.ok()) return q;
      dir = "queue-0/";
      keys.insert(keys.end(), {{"multi-queue-num-queues", "2"},
                               {"queue-1/tx-ring-ref", std::to_string(idle_refs[0].value())},
                               {"queue-1/rx-ring-ref", std::to_string(idle_refs[1].value())},
                               {"queue-1/event-channel", std::to_string(idle_port->value())}});
    }
    keys.insert(keys.end(), {{dir + "tx-ring-ref", std::to_string(tx_ref->value())},
                             {dir + "rx-ring-ref", std::to_string(rx_ref->value())},
                             {dir + "event-channel", std::to_string(port->value())}});
    auto written = xs::transact(device.client(), [&](xs::Transaction& txn) -> Result<void> {
      for (auto& [key, value] : keys)
        if (auto w = txn.write(device.key(key), value); !w.ok()) return w;
      return Result<void>();
    });
    waiters.wake_all();  // the rings are offered (reconnect_loop closes here)
    return written;
  }
  Result<void> on_connected(xs::XenbusDevice&) override {
    connected = true;
    ++connects;
    waiters.wake_all();
    return {};
  }
  void on_closing(xs::XenbusDevice& device) override {
    connected = false;
    saw_closing = true;
    // The backend waits for our Closed before it moves on: its key says Closing now.
    auto state = device.client().read(device.backend_key("state"));
    backend_state_at_closing = state.ok() ? *state : "(unreadable)";
    waiters.wake_all();
  }
  void on_closed(xs::XenbusDevice&) override {
    if (port) {
      evtchn::unbind(*port);
      (void)evtchn::close(*port);
    }
    bool tx_free = !tx_ref || gnttab::end_access(*tx_ref);
    bool rx_free = !rx_ref || gnttab::end_access(*rx_ref);
    bool idle_free = release_idle_queue();
    released_all = tx_free && rx_free && idle_free;  // false: the backend still maps a ring
    if (tx_free) free(tx_page);
    if (rx_free) free(rx_page);
    tx_page = rx_page = nullptr;
    port.reset();
    tx_ref.reset();
    rx_ref.reset();
    tx.reset();
    rx.reset();
    waiters.wake_all();
  }

  // The second queue's rings (one allocation: tx page, rx page), their
  // grants and its event channel, made empty and never used.
  Result<void> make_idle_queue() {
    idle_pages = static_cast<uint8_t*>(aligned_alloc(kPage, 2 * kPage));
    if (!idle_pages) return Errno::kNoMem;
    static_cast<TxRing::Shared*>(static_cast<void*>(idle_pages))->init();
    static_cast<RxRing::Shared*>(static_cast<void*>(idle_pages + kPage))->init();
    for (unsigned i = 0; i < 2; ++i) {
      auto g = gnttab::grant_access(backend, gnttab::virt_to_gfn(idle_pages + i * kPage), gnttab::Access::kReadWrite);
      if (!g.ok()) return Errno::kNoSpc;
      idle_refs.push_back(*g);
    }
    auto p = evtchn::alloc_unbound(backend);
    if (!p.ok()) return Errno::kNoSpc;
    idle_port = *p;
    return {};
  }
  // False when the backend still maps one of its rings.
  bool release_idle_queue() {
    if (idle_port) (void)evtchn::close(*idle_port);
    idle_port.reset();
    bool freed = true;
    for (GrantRef r : idle_refs) freed = gnttab::end_access(r) && freed;
    idle_refs.clear();
    if (freed) free(idle_pages);
    idle_pages = nullptr;
    return freed;
  }

  // Pushes one packet's slots and waits for a response to each; nullopt when
  // they do not all come back in time (or the vif is not connected).
  std::optional<std::vector<netif_tx_response>> send(const std::vector<netif_tx_request>& slots) {
    if (!connected || !tx) return std::nullopt;
    for (const netif_tx_request& s : slots) tx->next_request() = s;
    if (tx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*port);
    std::vector<netif_tx_response> got;
    sched::wait_until(
        waiters,
        [&] {
          if (!tx) return true;
          do {
            while (tx->unconsumed_responses()) got.push_back(tx->take_response());
          } while (got.size() < slots.size() && tx->final_check_for_responses());
          return got.size() >= slots.size();
        },
        after(kResponseWaitNs));
    if (got.size() != slots.size()) return std::nullopt;
    return got;
  }

  // Takes what arrived on the rx ring, shows each frame to on_frame and
  // posts the buffers again.
  void poll_rx() {
    if (!rx) return;
    bool reposted = false;
    do {
      while (rx->unconsumed_responses()) {
        netif_rx_response rsp = rx->take_response();
        if (rsp.id >= kRxBuffers) continue;
        if (rsp.status > 0 && rsp.offset + rsp.status <= static_cast<int>(kPage)) {
          if (on_frame) on_frame(g_rx_buffers[rsp.id] + rsp.offset, static_cast<size_t>(rsp.status));
        }
        netif_rx_request& req = rx->next_request();
        req.id = rsp.id;
        req.gref = rx_grants[rsp.id]->value();
        reposted = true;
      }
    } while (rx->final_check_for_responses());
    if (reposted && rx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*port);
  }

  // Waits (polling rx meanwhile) until `cond` holds or `ns` pass.
  template <typename Cond>
  bool wait_for(Cond cond, uint64_t ns) {
    return sched::wait_until(
        waiters,
        [&] {
          poll_rx();
          return cond();
        },
        after(ns));
  }

  DomId backend{0};
  uint8_t mac[6] = {};
  void* tx_page = nullptr;
  void* rx_page = nullptr;
  std::optional<TxRing> tx;
  std::optional<RxRing> rx;
  std::optional<GrantRef> tx_ref, rx_ref;
  std::optional<GrantRef> rx_grants[kRxBuffers];
  std::optional<EvtchnPort> port;
  sched::WaitQueue waiters;
  bool connected = false;
  bool saw_closing = false;
  std::string backend_state_at_closing;
  int connects = 0;
  bool released_all = true;  // the last close ended both ring grants
  bool post_rx_buffers = true;  // false: connect with both rings empty, no request ever made
  // True: ask for two queues (multi-queue-num-queues) and leave the second
  // idle. Queue 0 is the one tx, rx and port above.
  bool idle_second_queue = false;
  uint8_t* idle_pages = nullptr;
  std::vector<GrantRef> idle_refs;
  std::optional<EvtchnPort> idle_port;
  std::function<void(const uint8_t* frame, size_t size)> on_frame;
};

// One tx slot.
inline netif_tx_request frag(uint32_t gref, uint16_t offset, uint16_t size, uint16_t flags = 0, uint16_t id = 0) {
  netif_tx_request r{};
  r.gref = gref;
  r.offset = offset;
  r.size = size;
  r.flags = flags;
  r.id = id;
  return r;
}

// "aa:bb:cc:dd:ee:ff" into six bytes.
inline bool parse_mac(const std::string& text, uint8_t* out) {
  unsigned v[6];
  if (sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return false;
  for (int i = 0; i < 6; ++i) out[i] = static_cast<uint8_t>(v[i]);
  return true;
}

// Makes the vif ready to send frames: reads the backend's MAC (its `mac`
// key), starts the handshake and waits until connected, then fills `page`
// with a frame from the vif to itself, of a local-experimental ethertype (a
// switch that learned the MAC on this port sends it nowhere), and grants it
// to the backend to read. The grant, or nullopt after a failed CHECK.
inline std::optional<GrantRef> connect_with_frame_to_self(xs::XenbusDevice& device, HostileVif& vif, uint8_t* page) {
  auto mac = device.client().read(device.backend_key("mac"));
  CHECK(mac.ok() && parse_mac(*mac, vif.mac), "the backend's mac key");
  CHECK(device.start().ok(), "handshake started");
  CHECK(sched::wait_until(vif.waiters, [&] { return vif.connected; }, after(kStateWaitNs * 12)), "connected");
  if (!vif.connected) return std::nullopt;
  memset(page, 0x5a, kPage);
  memcpy(page, vif.mac, 6);
  memcpy(page + 6, vif.mac, 6);
  page[12] = 0x88, page[13] = 0xb5;
  auto grant = gnttab::grant_access(vif.backend, gnttab::virt_to_gfn(page), gnttab::Access::kReadOnly);
  CHECK(grant.ok(), "a grant of the frame");
  return grant.ok() ? std::optional(*grant) : std::nullopt;
}

}  // namespace atl::test
