// netfront's data path: ring pages, persistently granted buffers, transmit
// with back-pressure onto the queue of the frame's flow, and receive in place
// with immediate reposting.
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

// Enough of a frame for the flow hash: Ethernet, IPv4 with options or IPv6,
// and the ports.
constexpr size_t kFlowHeader = 14 + 60 + 4;

uint32_t mix(uint32_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;  // FNV-1a
  return h;
}

// A hash of the frame's addresses and, for unfragmented TCP and UDP, ports;
// nullopt when it is neither IPv4 nor IPv6 (ARP and the like go to queue 0).
std::optional<uint32_t> flow_hash(const uint8_t* f, size_t n) {
  if (n < 14) return std::nullopt;
  uint16_t type = static_cast<uint16_t>(f[12] << 8 | f[13]);
  uint32_t h = 2166136261u;
  size_t l4 = 0;
  uint8_t proto = 0;
  if (type == 0x0800 && n >= 14 + 20) {
    size_t ihl = (f[14] & 0x0f) * 4u;
    h = mix(h, f + 26, 8);
    proto = f[23];
    bool fragment = (f[20] & 0x3f) || f[21];  // MF or an offset
    if (!fragment && ihl >= 20) l4 = 14 + ihl;
  } else if (type == 0x86dd && n >= 14 + 40) {
    h = mix(h, f + 22, 32);
    proto = f[20];
    l4 = 14 + 40;
  } else {
    return std::nullopt;
  }
  if ((proto == 6 || proto == 17) && l4 && n >= l4 + 4) h = mix(h, f + l4, 4);
  return h;
}

}  // namespace

Result<void> NetFront::setup_queue(Queue& q) {
  q.owner = this;
  q.tx_page = aligned_alloc(kPage, kPage);
  q.rx_page = aligned_alloc(kPage, kPage);
  q.tx_buffers = static_cast<uint8_t*>(aligned_alloc(kPage, kTxBuffers * kTxBufferSize));
  q.rx_buffers = static_cast<uint8_t*>(aligned_alloc(kPage, kRxBuffers * kPage));
  if (!q.tx_page || !q.rx_page || !q.tx_buffers || !q.rx_buffers) return Errno::kNoMem;
  auto* tx = static_cast<NetifTxFrontRing::Shared*>(q.tx_page);
  auto* rx = static_cast<NetifRxFrontRing::Shared*>(q.rx_page);
  tx->init();
  rx->init();
  q.tx.emplace(tx);
  q.rx.emplace(rx);
  DomId backend = m_backend;
  auto grant = [backend](const void* page, gnttab::Access access) {
    return gnttab::grant_access(backend, gnttab::virt_to_gfn(page), access);
  };
  auto tx_ref = grant(q.tx_page, gnttab::Access::kReadWrite);
  if (!tx_ref.ok()) return tx_ref.error();
  q.tx_ref = *tx_ref;
  auto rx_ref = grant(q.rx_page, gnttab::Access::kReadWrite);
  if (!rx_ref.ok()) return rx_ref.error();
  q.rx_ref = *rx_ref;
  // The backend only reads tx buffers and only writes rx buffers.
  for (unsigned i = 0; i < kTxBuffers / 2; ++i) {
    auto r = grant(q.tx_buffers + i * kPage, gnttab::Access::kReadOnly);
    if (!r.ok()) return r.error();
    q.tx_grants[i] = *r;
  }
  for (unsigned i = 0; i < kRxBuffers; ++i) {
    auto r = grant(q.rx_buffers + i * kPage, gnttab::Access::kReadWrite);
    if (!r.ok()) return r.error();
    q.rx_grants[i] = *r;
  }
  q.tx_free_count = 0;
  for (unsigned i = 0; i < kTxBuffers; ++i) q.tx_free[q.tx_free_count++] = static_cast<uint16_t>(kTxBuffers - 1 - i);
  q.tx_notify_pending = false;
  auto port = evtchn::alloc_unbound(backend);
  if (!port.ok()) return port.error();
  q.port = *port;
  evtchn::bind(*port, &NetFront::on_event, &q);
  return {};
}

Result<void> NetFront::setup_rings(DomId backend, unsigned queues) {
  m_backend = backend;
  m_queue_count = queues;
  for (unsigned i = 0; i < queues; ++i)
    if (auto r = setup_queue(m_queues[i]); !r.ok()) return r;
  return {};
}

void NetFront::free_rings() {
  // The backend is Closed (or gone), so nothing is mapped; a grant it still
  // holds keeps its page (leaked rather than reused under the backend's feet).
  bool leak = false;
  auto end = [&leak](std::optional<GrantRef>& ref) {
    if (ref && !gnttab::end_access(*ref)) leak = true;
    ref.reset();
  };
  for (Queue& q : m_queues) {
    if (q.port) {
      evtchn::unbind(*q.port);
      (void)evtchn::close(*q.port);
      q.port.reset();
    }
    end(q.tx_ref);
    end(q.rx_ref);
    for (auto& g : q.tx_grants) end(g);
    for (auto& g : q.rx_grants) end(g);
  }
  if (leak) kernel::console_print("netfront: the backend still holds grants; leaking the device's pages\n");
  for (Queue& q : m_queues) {
    if (!leak) {
      free(q.tx_page);
      free(q.rx_page);
      free(q.tx_buffers);
      free(q.rx_buffers);
    }
    q.tx_page = q.rx_page = nullptr;
    q.tx_buffers = q.rx_buffers = nullptr;
    q.tx.reset();
    q.rx.reset();
  }
  m_queue_count = 0;
}

void NetFront::on_event(EvtchnPort, void* data) {
  NetFront* self = static_cast<Queue*>(data)->owner;
  self->m_rx_waiters.wake_all();
  self->m_tx_waiters.wake_all();
}

void NetFront::post_rx_buffers() {
  for (unsigned n = 0; n < m_queue_count; ++n) {
    Queue& q = m_queues[n];
    for (unsigned i = 0; i < kRxBuffers; ++i) {
      netif_rx_request& req = q.rx->next_request();
      req.id = static_cast<uint16_t>(i);
      req.gref = q.rx_grants[i]->value();
    }
    if (q.rx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*q.port);
  }
}

void NetFront::reap_tx(Queue& q) {
  do {
    while (q.tx->unconsumed_responses()) {
      netif_tx_response rsp = q.tx->take_response();
      if (rsp.status == NETIF_RSP_NULL) continue;  // an extra-info slot (we send none)
      if (rsp.status != NETIF_RSP_OKAY) {
        ++q.counters.tx_errors;
        ++q.owner->m_counters.tx_errors;
      }
      // A hostile backend could name a buffer twice or one that is free.
      if (rsp.id < kTxBuffers && q.tx_free_count < kTxBuffers) q.tx_free[q.tx_free_count++] = rsp.id;
    }
  } while (q.tx->final_check_for_responses());
}

void NetFront::flush_tx() {
  for (unsigned n = 0; n < m_queue_count; ++n) {
    Queue& q = m_queues[n];
    if (!q.tx_notify_pending) continue;
    q.tx_notify_pending = false;
    if (q.port) (void)evtchn::send(*q.port);
  }
}

NetFront::Queue& NetFront::tx_queue_for(std::span<const std::span<const uint8_t>> pieces) {
  if (m_queue_count <= 1) return m_queues[0];
  // The headers may be spread over pieces: gather the first bytes.
  uint8_t head[kFlowHeader];
  size_t n = 0;
  for (auto p : pieces) {
    size_t k = p.size() < sizeof head - n ? p.size() : sizeof head - n;
    memcpy(head + n, p.data(), k);
    n += k;
    if (n == sizeof head) break;
  }
  auto h = flow_hash(head, n);
  return m_queues[h ? *h % m_queue_count : 0];
}

Result<void> NetFront::transmit(std::span<const std::span<const uint8_t>> pieces, bool defer) {
  size_t total = 0;
  for (auto p : pieces) total += p.size();
  if (total < 14 || total > kMaxFrame) return Errno::kInval;
  Queue* q;
  for (;;) {
    if (!m_connected || m_queue_count == 0) return Errno::kNoDev;
    q = &tx_queue_for(pieces);
    reap_tx(*q);
    if (q->tx_free_count > 0 && !q->tx->full()) break;
    flush_tx();  // the backend must hear of what is queued before we wait on it
    sched::wait_until(m_tx_waiters, [this, q] { return !m_connected || (q->tx && q->tx->unconsumed_responses() > 0); });
  }
  uint16_t id = q->tx_free[--q->tx_free_count];
  uint8_t* buf = q->tx_buffers + id * kTxBufferSize;
  size_t at = 0;
  for (auto p : pieces) {
    memcpy(buf + at, p.data(), p.size());
    at += p.size();
  }
  netif_tx_request& req = q->tx->next_request();
  req.gref = q->tx_grants[id / 2]->value();
  req.offset = static_cast<uint16_t>((id % 2) * kTxBufferSize);
  req.flags = 0;  // checksums are complete: lwIP computes them
  req.id = id;
  req.size = static_cast<uint16_t>(total);
  for (NetCounters* c : {&q->counters, &m_counters}) {
    ++c->tx_packets;
    c->tx_bytes += total;
  }
  if (q->tx->push_requests() == NotifyNeeded::kYes) {
    q->tx_notify_pending = true;
    if (!defer) flush_tx();
  }
  return {};
}

bool NetFront::rx_pending() const {
  if (!m_connected) return false;
  for (unsigned n = 0; n < m_queue_count; ++n)
    if (m_queues[n].rx && m_queues[n].rx->unconsumed_responses() > 0) return true;
  return false;
}

unsigned NetFront::poll_rx_impl(void (*receive)(void*, std::span<const uint8_t>), void* ctx) {
  unsigned frames = 0;
  for (unsigned n = 0; n < m_queue_count && m_connected; ++n) frames += poll_rx_queue(m_queues[n], receive, ctx);
  return frames;
}

unsigned NetFront::poll_rx_queue(Queue& q, void (*receive)(void*, std::span<const uint8_t>), void* ctx) {
  if (!m_connected || !q.rx) return 0;
  unsigned frames = 0;
  do {
    while (q.rx->unconsumed_responses()) {
      netif_rx_response rsp = q.rx->take_response();
      // Everything in a response is the backend's word: check before use.
      bool ok = rsp.id < kRxBuffers && rsp.status > 0 && rsp.offset + rsp.status <= static_cast<int>(kPage) &&
                !(rsp.flags & (NETRXF_more_data | NETRXF_extra_info));
      if (ok) {
        receive(ctx, std::span<const uint8_t>(q.rx_buffers + rsp.id * kPage + rsp.offset,
                                              static_cast<size_t>(rsp.status)));
        ++frames;
        for (NetCounters* c : {&q.counters, &m_counters}) {
          ++c->rx_packets;
          c->rx_bytes += static_cast<uint64_t>(rsp.status);
        }
      } else {
        ++q.counters.rx_errors;
        ++m_counters.rx_errors;
      }
      if (!m_connected || !q.rx) return frames;  // closed under us by the receiver
      // Post the buffer again; a response naming no buffer of ours loses a slot.
      if (rsp.id >= kRxBuffers) continue;
      netif_rx_request& req = q.rx->next_request();
      req.id = rsp.id;
      req.gref = q.rx_grants[rsp.id]->value();
    }
    if (q.rx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*q.port);
  } while (q.rx->final_check_for_responses());
  return frames;
}

}  // namespace atl::net
