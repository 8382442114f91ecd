// netfront's data path: ring pages, persistently granted buffers, transmit
// with back-pressure onto the queue of the frame's flow, and receive in place
// with immediate reposting.
#include "netfront.h"

#include <stdlib.h>
#include <string.h>

#include "atoll/evtchn.h"
#include "atoll/gnttab.h"
#include "atoll/kernel.h"
#include "atoll/inet_frame.h"
#include "frame.h"

namespace atl::net {
namespace {

constexpr size_t kPage = 4096;
// ABI: xen/io/netif.h; 12-byte tx and 8-byte rx slots, 256 of each per page.
static_assert(sizeof(netif_tx_request) == 12 && sizeof(netif_rx_response) == 8);
static_assert(sizeof(netif_extra_info) <= sizeof(netif_tx_request) && sizeof(netif_extra_info) <= sizeof(netif_rx_response));
static_assert(NetifTxFrontRing::kSize == 256 && NetifRxFrontRing::kSize == 256);
static_assert(NetFront::kTxPages <= NetifTxFrontRing::kSize && NetFront::kRxBuffers <= NetifRxFrontRing::kSize);
// A GSO frame's pages and its extra slot stay within the slots a backend
// must accept for one packet (XEN_NETIF_NR_SLOTS_MIN).
static_assert((NetFront::kMaxGsoFrame + kPage - 1) / kPage + 1 <= XEN_NETIF_NR_SLOTS_MIN);
static_assert(NetFront::kMaxFrame <= kPage);


}  // namespace

Result<void> NetFront::setup_queue(Queue& q) {
  q.owner = this;
  q.tx_page = aligned_alloc(kPage, kPage);
  q.rx_page = aligned_alloc(kPage, kPage);
  // A GSO frame takes up to 16 pages: with TSO twice the pages of a queue
  // that only sends frames of one page.
  q.tx_pages = m_offloads.tso4 || m_offloads.tso6 ? kTxPages : kTxPages / 2;
  q.tx_buffers = static_cast<uint8_t*>(aligned_alloc(kPage, q.tx_pages * kPage));
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
  for (unsigned i = 0; i < q.tx_pages; ++i) {
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
  for (unsigned i = 0; i < q.tx_pages; ++i) q.tx_free[q.tx_free_count++] = static_cast<uint16_t>(q.tx_pages - 1 - i);
  q.tx_busy = {};
  q.rx_posted = {};
  q.rx_taken_count = 0;
  q.rx_packet = RxPacket{};
  q.rx_more = q.rx_extra = q.rx_bad = false;
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
  // The refs go back in the reverse of the order setup_queue() took them: the
  // allocator gives the last freed first, so a reconnect gets the same refs
  // in the same places (unless something else took refs in between).
  for (size_t n = m_queues.size(); n-- > 0;) {
    Queue& q = m_queues[n];
    if (q.port) {
      evtchn::unbind(*q.port);
      (void)evtchn::close(*q.port);
      q.port.reset();
    }
    for (size_t i = q.rx_grants.size(); i-- > 0;) end(q.rx_grants[i]);
    for (size_t i = q.tx_grants.size(); i-- > 0;) end(q.tx_grants[i]);
    end(q.rx_ref);
    end(q.tx_ref);
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

void NetFront::post_rx(Queue& q, uint16_t buffer) {
  if (q.rx_posted[buffer]) return;
  q.rx_slot_buffer[q.rx->req_prod_pvt().slot(NetifRxFrontRing::kSize)] = buffer;
  netif_rx_request& req = q.rx->next_request();
  req.id = buffer;
  req.gref = q.rx_grants[buffer]->value();
  q.rx_posted[buffer] = true;
}

void NetFront::post_rx_buffers() {
  for (unsigned n = 0; n < m_queue_count; ++n) {
    Queue& q = m_queues[n];
    for (unsigned i = 0; i < kRxBuffers; ++i) post_rx(q, static_cast<uint16_t>(i));
    if (q.rx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*q.port);
  }
}

void NetFront::reap_tx(Queue& q) {
  do {
    while (q.tx->unconsumed_responses()) {
      netif_tx_response rsp = q.tx->take_response();
      if (rsp.status == NETIF_RSP_NULL) continue;  // the answer to an extra-info slot
      if (rsp.status != NETIF_RSP_OKAY) {
        ++q.counters.tx_errors;
        ++q.owner->m_counters.tx_errors;
      }
      // A hostile backend could name a page twice or one it was never given.
      if (rsp.id < q.tx_pages && q.tx_busy[rsp.id]) {
        q.tx_busy[rsp.id] = false;
        q.tx_free[q.tx_free_count++] = rsp.id;
      }
    }
  } while (q.tx->final_check_for_responses());
}

void NetFront::flush_tx() {
  for (unsigned n = 0; n < m_queue_count; ++n) {
    Queue& q = m_queues[n];
    if (!q.tx_notify_pending) continue;
    q.tx_notify_pending = false;
    // Told when this thread next waits or the guest goes idle: the frames
    // of every send() until then cost the backend one notification.
    if (q.port) evtchn::send_deferred(*q.port);
  }
}

Result<void> NetFront::transmit(std::span<const std::span<const uint8_t>> pieces, bool defer) {
  size_t total = 0;
  for (auto p : pieces) total += p.size();
  if (total < 14 || total > kMaxGsoFrame) return Errno::kInval;
  // The headers may be spread over pieces: gather the first bytes.
  uint8_t head[inet::kFrameHeadMax];
  size_t head_len = 0;
  for (auto p : pieces) {
    size_t k = p.size() < sizeof head - head_len ? p.size() : sizeof head - head_len;
    memcpy(head + head_len, p.data(), k);
    head_len += k;
    if (head_len == sizeof head) break;
  }
  std::span<const uint8_t> head_span(head, head_len);
  std::optional<inet::FrameHeaders> h = inet::parse_frame_headers(head_span, total);
  bool tcp = h && h->proto == inet::kIpProtoTcp;
  bool ipv6 = h && h->ip_version == 6;
  uint16_t gso_size = 0;
  if (total > kMaxFrame) {
    // TSO: the backend (or the host's kernel behind it) cuts the segment at
    // the MSS the MTU leaves, headers included.
    if (!tcp || !tso(ipv6)) return Errno::kInval;
    size_t headers = h->payload - h->l3;
    if (headers >= kMtu) return Errno::kInval;
    gso_size = static_cast<uint16_t>(kMtu - headers);
  }
  unsigned pages = static_cast<unsigned>((total + kPage - 1) / kPage);
  unsigned slots = pages + (gso_size ? 1 : 0);
  Queue* q;
  for (;;) {
    if (!m_connected || m_queue_count == 0) return Errno::kNoDev;
    q = &m_queues[m_queue_count > 1 ? flow_hash(head_span) % m_queue_count : 0];
    reap_tx(*q);
    if (q->tx_free_count >= pages && q->tx->free_slots() >= slots) break;
    flush_tx();  // the backend must hear of what is queued before we wait on it
    sched::wait_until(m_tx_waiters, [this, q] { return !m_connected || (q->tx && q->tx->unconsumed_responses() > 0); });
  }
  // Copy into the pages, one page per slot.
  std::array<uint16_t, XEN_NETIF_NR_SLOTS_MIN> ids;
  for (unsigned i = 0; i < pages; ++i) {
    ids[i] = q->tx_free[--q->tx_free_count];
    q->tx_busy[ids[i]] = true;
  }
  auto page = [q](uint16_t id) { return q->tx_buffers + id * kPage; };
  size_t at = 0;
  for (auto p : pieces) {
    for (size_t done = 0; done < p.size();) {
      size_t room = kPage - at % kPage;
      size_t k = p.size() - done < room ? p.size() - done : room;
      memcpy(page(ids[at / kPage]) + at % kPage, p.data() + done, k);
      done += k;
      at += k;
    }
  }
  // TCP checksums are the backend's: lwIP leaves the field zero (the netif
  // does not generate them), netfront seeds it with the pseudo-header sum as
  // NETTXF_csum_blank expects. Where the backend cannot take a blank IPv6
  // checksum, netfront computes it.
  uint16_t flags = 0;
  if (tcp) {
    size_t at = h->l4 + h->csum_offset();  // within the first page: kFrameHeadMax < kPage
    uint8_t* field = page(ids[0]) + at;
    uint16_t seed = inet::pseudo_header_sum(head_span, *h, h->l4_length());
    if (!ipv6 || m_offloads.ipv6_csum) {
      inet::store_be16(field, seed);
      flags = NETTXF_csum_blank | NETTXF_data_validated;
    } else {
      // Each piece below starts at an even offset (l4 is, pages are), so
      // their sums chain.
      inet::store_be16(field, 0);
      uint16_t sum = seed;
      for (size_t off = h->l4; off < h->end;) {
        size_t k = h->end - off < kPage - off % kPage ? h->end - off : kPage - off % kPage;
        sum = inet::ones_sum({page(ids[off / kPage]) + off % kPage, k}, sum);
        off += k;
      }
      inet::store_be16(field, static_cast<uint16_t>(~sum));
    }
  }
  netif_tx_request& first = q->tx->next_request();
  first.gref = q->tx_grants[ids[0]]->value();
  first.offset = 0;
  first.flags = static_cast<uint16_t>(flags | (pages > 1 ? NETTXF_more_data : 0) | (gso_size ? NETTXF_extra_info : 0));
  first.id = ids[0];
  first.size = static_cast<uint16_t>(total);  // the first slot carries the packet's size
  if (gso_size) {
    netif_extra_info extra{};
    extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
    extra.u.gso.size = gso_size;
    extra.u.gso.type = static_cast<uint8_t>(ipv6 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4);
    memcpy(&q->tx->next_request(), &extra, sizeof extra);
  }
  for (unsigned i = 1; i < pages; ++i) {
    netif_tx_request& req = q->tx->next_request();
    req.gref = q->tx_grants[ids[i]]->value();
    req.offset = 0;
    req.flags = static_cast<uint16_t>(i + 1 < pages ? NETTXF_more_data : 0);
    req.id = ids[i];
    req.size = static_cast<uint16_t>(i + 1 < pages ? kPage : total - i * kPage);
  }
  for (NetCounters* c : {&q->counters, &m_counters}) {
    ++c->tx_packets;
    c->tx_bytes += total;
    if (gso_size) ++c->tx_gso;
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

unsigned NetFront::poll_rx_impl(Receive receive, void* ctx) {
  unsigned packets = 0;
  for (unsigned n = 0; n < m_queue_count && m_connected; ++n) packets += poll_rx_queue(m_queues[n], receive, ctx);
  return packets;
}

bool NetFront::take_rx_slot(Queue& q) {
  // Everything in a response is the backend's word: check before use.
  uint16_t at_slot = q.rx_slot_buffer[q.rx->rsp_cons().slot(NetifRxFrontRing::kSize)];
  netif_rx_response rsp = q.rx->take_response();
  RxPacket& pkt = q.rx_packet;
  if (q.rx_extra) {
    // An extra-info slot: it used the buffer posted at its place on the ring.
    netif_extra_info extra;
    memcpy(&extra, &rsp, sizeof extra);
    if (q.rx_posted[at_slot]) {
      q.rx_posted[at_slot] = false;
      q.rx_taken[q.rx_taken_count++] = at_slot;
    }
    if (extra.type == XEN_NETIF_EXTRA_TYPE_GSO) {
      bool v4 = extra.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4, v6 = extra.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6;
      if ((!v4 && !v6) || extra.u.gso.size == 0) q.rx_bad = true;
      pkt.gso_size = extra.u.gso.size;
    }
    q.rx_extra = (extra.flags & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
    return !q.rx_extra && !q.rx_more;
  }
  bool first = q.rx_taken_count == 0;
  bool ours = rsp.id < kRxBuffers && q.rx_posted[rsp.id];
  if (ours) {
    q.rx_posted[rsp.id] = false;
    q.rx_taken[q.rx_taken_count++] = rsp.id;
  }
  bool ok = ours && rsp.status > 0 && rsp.offset + rsp.status <= static_cast<int>(kPage) &&
            pkt.count < RxPacket::kMaxRxSlots;
  if (ok) {
    pkt.pieces[pkt.count++] = {q.rx_buffers + rsp.id * kPage + rsp.offset, static_cast<size_t>(rsp.status)};
    pkt.size += static_cast<size_t>(rsp.status);
  } else {
    q.rx_bad = true;
  }
  if (first) {
    pkt.checksum_blank = (rsp.flags & NETRXF_csum_blank) != 0;
    pkt.data_validated = (rsp.flags & NETRXF_data_validated) != 0;
    q.rx_extra = (rsp.flags & NETRXF_extra_info) != 0;
  }
  q.rx_more = (rsp.flags & NETRXF_more_data) != 0;
  return !q.rx_extra && !q.rx_more;
}

void NetFront::finish_rx_packet(Queue& q, Receive receive, void* ctx, unsigned& packets) {
  const RxPacket& pkt = q.rx_packet;
  if (!q.rx_bad && pkt.count > 0) {
    receive(ctx, pkt);
    ++packets;
    for (NetCounters* c : {&q.counters, &m_counters}) {
      ++c->rx_packets;
      c->rx_bytes += pkt.size;
      if (pkt.gso_size) ++c->rx_gso;
    }
  } else {
    ++q.counters.rx_errors;
    ++m_counters.rx_errors;
  }
  if (!m_connected || !q.rx) return;  // closed under us by the receiver
  // The packet's pages go back on the ring; a response naming no buffer of
  // ours loses a slot.
  for (unsigned i = 0; i < q.rx_taken_count; ++i) post_rx(q, q.rx_taken[i]);
  q.rx_taken_count = 0;
  q.rx_packet = RxPacket{};
  q.rx_bad = false;
}

unsigned NetFront::poll_rx_queue(Queue& q, Receive receive, void* ctx) {
  if (!m_connected || !q.rx) return 0;
  unsigned packets = 0;
  do {
    while (q.rx->unconsumed_responses()) {
      if (take_rx_slot(q)) {
        finish_rx_packet(q, receive, ctx, packets);
        if (!m_connected || !q.rx) return packets;
      }
    }
    if (q.rx->push_requests() == NotifyNeeded::kYes) (void)evtchn::send(*q.port);
  } while (q.rx->final_check_for_responses());
  return packets;
}

}  // namespace atl::net
