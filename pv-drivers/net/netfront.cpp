// netfront's data path: ring pages, persistently granted buffers, transmit
// with back-pressure, and receive in place with immediate reposting.
#include "netfront.h"

#include <stdlib.h>
#include <string.h>

#include "atoll/evtchn.h"
#include "atoll/gnttab.h"
#include "atoll/kernel.h"

namespace atl::net {
namespace {

constexpr size_t kPage = 4096;
constexpr size_t kTxBufferSize = kPage / 2;
// ABI: xen/io/netif.h; 12-byte tx and 8-byte rx slots, 256 of each per page.
static_assert(sizeof(netif_tx_request) == 12 && sizeof(netif_rx_response) == 8);
static_assert(NetifTxFrontRing::kSize == 256 && NetifRxFrontRing::kSize == 256);
static_assert(NetFront::kMaxFrame <= kTxBufferSize);
static_assert(NetFront::kTxBuffers <= NetifTxFrontRing::kSize && NetFront::kRxBuffers <= NetifRxFrontRing::kSize);

}  // namespace

Result<void> NetFront::setup_rings(DomId backend) {
  m_backend = backend;
  m_tx_page = aligned_alloc(kPage, kPage);
  m_rx_page = aligned_alloc(kPage, kPage);
  m_tx_buffers = static_cast<uint8_t*>(aligned_alloc(kPage, kTxBuffers * kTxBufferSize));
  m_rx_buffers = static_cast<uint8_t*>(aligned_alloc(kPage, kRxBuffers * kPage));
  if (!m_tx_page || !m_rx_page || !m_tx_buffers || !m_rx_buffers) return Errno::kNoMem;
  auto* tx = static_cast<NetifTxFrontRing::Shared*>(m_tx_page);
  auto* rx = static_cast<NetifRxFrontRing::Shared*>(m_rx_page);
  tx->init();
  rx->init();
  m_tx.emplace(tx);
  m_rx.emplace(rx);
  auto grant = [backend](const void* page, gnttab::Access access) {
    return gnttab::grant_access(backend, gnttab::virt_to_gfn(page), access);
  };
  auto tx_ref = grant(m_tx_page, gnttab::Access::kReadWrite);
  if (!tx_ref.ok()) return tx_ref.error();
  m_tx_ref = *tx_ref;
  auto rx_ref = grant(m_rx_page, gnttab::Access::kReadWrite);
  if (!rx_ref.ok()) return rx_ref.error();
  m_rx_ref = *rx_ref;
  // The backend only reads tx buffers and only writes rx buffers.
  for (unsigned i = 0; i < kTxBuffers / 2; ++i) {
    auto r = grant(m_tx_buffers + i * kPage, gnttab::Access::kReadOnly);
    if (!r.ok()) return r.error();
    m_tx_grants[i] = *r;
  }
  for (unsigned i = 0; i < kRxBuffers; ++i) {
    auto r = grant(m_rx_buffers + i * kPage, gnttab::Access::kReadWrite);
    if (!r.ok()) return r.error();
    m_rx_grants[i] = *r;
  }
  m_tx_free_count = 0;
  for (unsigned i = 0; i < kTxBuffers; ++i) m_tx_free[m_tx_free_count++] = static_cast<uint16_t>(kTxBuffers - 1 - i);
  auto port = evtchn::alloc_unbound(backend);
  if (!port.ok()) return port.error();
  m_port = *port;
  evtchn::bind(*port, &NetFront::on_event, this);
  return {};
}

void NetFront::free_rings() {
  if (m_port) {
    evtchn::unbind(*m_port);
    (void)evtchn::close(*m_port);
    m_port.reset();
  }
  // The backend is Closed (or gone), so nothing is mapped; a grant it still
  // holds keeps its page (leaked rather than reused under the backend's feet).
  bool leak = false;
  auto end = [&leak](std::optional<GrantRef>& ref) {
    if (ref && !gnttab::end_access(*ref)) leak = true;
    ref.reset();
  };
  end(m_tx_ref);
  end(m_rx_ref);
  for (auto& g : m_tx_grants) end(g);
  for (auto& g : m_rx_grants) end(g);
  if (leak) {
    kernel::console_print("netfront: the backend still holds grants; leaking the device's pages\n");
  } else {
    free(m_tx_page);
    free(m_rx_page);
    free(m_tx_buffers);
    free(m_rx_buffers);
  }
  m_tx_page = m_rx_page = nullptr;
  m_tx_buffers = m_rx_buffers = nullptr;
  m_tx.reset();
  m_rx.reset();
}

void NetFront::on_event(EvtchnPort, void* data) {
  auto* self = static_cast<NetFront*>(data);
  self->m_rx_waiters.wake_all();
  self->m_tx_waiters.wake_all();
}

void NetFront::post_rx_buffers() {
  for (unsigned i = 0; i < kRxBuffers; ++i) {
    netif_rx_request& req = m_rx->next_request();
    req.id = static_cast<uint16_t>(i);
    req.gref = m_rx_grants[i]->value();
  }
  if (m_rx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*m_port);
}

void NetFront::reap_tx() {
  do {
    while (m_tx->unconsumed_responses()) {
      netif_tx_response rsp = m_tx->take_response();
      if (rsp.status == NETIF_RSP_NULL) continue;  // an extra-info slot (we send none)
      if (rsp.status != NETIF_RSP_OKAY) ++m_counters.tx_errors;
      // A hostile backend could name a buffer twice or one that is free.
      if (rsp.id < kTxBuffers && m_tx_free_count < kTxBuffers) m_tx_free[m_tx_free_count++] = rsp.id;
    }
  } while (m_tx->final_check_for_responses());
}

void NetFront::flush_tx() {
  if (!m_tx_notify_pending) return;
  m_tx_notify_pending = false;
  if (m_port) (void)evtchn::send(*m_port);
}

Result<void> NetFront::transmit(std::span<const std::span<const uint8_t>> pieces, bool defer) {
  size_t total = 0;
  for (auto p : pieces) total += p.size();
  if (total < 14 || total > kMaxFrame) return Errno::kInval;
  for (;;) {
    if (!m_connected) return Errno::kNoDev;
    reap_tx();
    if (m_tx_free_count > 0 && !m_tx->full()) break;
    flush_tx();  // the backend must hear of what is queued before we wait on it
    sched::wait_until(m_tx_waiters, [this] { return !m_connected || (m_tx && m_tx->unconsumed_responses() > 0); });
  }
  uint16_t id = m_tx_free[--m_tx_free_count];
  uint8_t* buf = m_tx_buffers + id * kTxBufferSize;
  size_t at = 0;
  for (auto p : pieces) {
    memcpy(buf + at, p.data(), p.size());
    at += p.size();
  }
  netif_tx_request& req = m_tx->next_request();
  req.gref = m_tx_grants[id / 2]->value();
  req.offset = static_cast<uint16_t>((id % 2) * kTxBufferSize);
  req.flags = 0;  // checksums are complete: lwIP computes them
  req.id = id;
  req.size = static_cast<uint16_t>(total);
  ++m_counters.tx_packets;
  m_counters.tx_bytes += total;
  if (m_tx->push_requests() == NotifyNeeded::kYes) {
    m_tx_notify_pending = true;
    if (!defer) flush_tx();
  }
  return {};
}

bool NetFront::rx_pending() const { return m_connected && m_rx && m_rx->unconsumed_responses() > 0; }

unsigned NetFront::poll_rx_impl(void (*receive)(void*, std::span<const uint8_t>), void* ctx) {
  if (!m_connected || !m_rx) return 0;
  unsigned frames = 0;
  do {
    while (m_rx->unconsumed_responses()) {
      netif_rx_response rsp = m_rx->take_response();
      // Everything in a response is the backend's word: check before use.
      bool ok = rsp.id < kRxBuffers && rsp.status > 0 && rsp.offset + rsp.status <= static_cast<int>(kPage) &&
                !(rsp.flags & (NETRXF_more_data | NETRXF_extra_info));
      if (ok) {
        receive(ctx, std::span<const uint8_t>(m_rx_buffers + rsp.id * kPage + rsp.offset,
                                              static_cast<size_t>(rsp.status)));
        ++frames;
        ++m_counters.rx_packets;
        m_counters.rx_bytes += static_cast<uint64_t>(rsp.status);
      } else {
        ++m_counters.rx_errors;
      }
      if (!m_connected || !m_rx) return frames;  // closed under us by the receiver
      // Post the buffer again; a response naming no buffer of ours loses a slot.
      if (rsp.id >= kRxBuffers) continue;
      netif_rx_request& req = m_rx->next_request();
      req.id = rsp.id;
      req.gref = m_rx_grants[rsp.id]->value();
    }
    if (m_rx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*m_port);
  } while (m_rx->final_check_for_responses());
  return frames;
}

}  // namespace atl::net
