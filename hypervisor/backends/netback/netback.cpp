// netback's data path: transmit requests off the tx ring, assembled and checked,
// copied out of the guest with grant copies and sent through the uplink; frames
// from the uplink copied into the buffers the guest posted on the rx ring.
#include "netback.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "checksum.h"
#include "clock.h"
#include "gso.h"

namespace atl::hv {
namespace {

constexpr uint64_t kRxRetryNs = 10'000'000;  // when the guest posts buffers without notifying

bool is_group_address(const uint8_t* mac) { return (mac[0] & 1) != 0; }

// Fills `head` from the start of the packet `fragments` hold and puts what
// follows it in `rest`; returns how many pieces that is.
unsigned copy_head(std::span<const std::span<const uint8_t>> fragments, std::span<uint8_t> head,
                   std::span<const uint8_t>* rest) {
  unsigned count = 0;
  size_t at = 0;
  for (std::span<const uint8_t> f : fragments) {
    size_t take = std::min(f.size(), head.size() - at);
    memcpy(head.data() + at, f.data(), take);
    at += take;
    if (take < f.size()) rest[count++] = f.subspan(take);
  }
  return count;
}

}  // namespace

Result<void> NetBack::connect_queue(const QueueKeys& keys) {
  auto q = std::make_unique<Queue>();
  q->index = static_cast<unsigned>(m_queues.size());
  GrantTable& gt = m_domain.gnttab();
  auto tx = gt.map(keys.tx_ref, DomId(0), true);
  if (!tx.ok()) return tx.error();
  auto rx = gt.map(keys.rx_ref, DomId(0), true);
  if (!rx.ok()) {
    gt.unmap(tx->handle);
    return rx.error();
  }
  q->tx_map = tx->handle;
  q->rx_map = rx->handle;
  q->tx.emplace(reinterpret_cast<NetifTxSharedRing*>(tx->page.data()));
  q->rx_shared = reinterpret_cast<NetifRxSharedRing*>(rx->page.data());
  q->rx.emplace(q->rx_shared);
  q->tx_port = keys.tx_port;
  q->rx_port = keys.rx_port;
  unsigned index = q->index;
  uint64_t generation = m_generation;
  std::weak_ptr<bool> alive = m_alive;
  // disconnect() gives the ports back; the generation also silences a
  // notification that was already on its way.
  Result<uint32_t> bound = Errno::kInval;
  if (keys.tx_port == keys.rx_port) {
    bound = m_domain.bind_backend_port(keys.tx_port, [this, alive, generation, index] {
      if (alive.expired()) return;
      on_tx_notify(generation, index);
      on_rx_notify(generation, index);
    });
  } else {
    bound = m_domain.bind_backend_port(keys.tx_port, [this, alive, generation, index] {
      if (!alive.expired()) on_tx_notify(generation, index);
    });
    if (bound.ok()) {
      q->backend_ports.push_back(*bound);
      bound = m_domain.bind_backend_port(keys.rx_port, [this, alive, generation, index] {
        if (!alive.expired()) on_rx_notify(generation, index);
      });
    }
  }
  if (bound.ok()) q->backend_ports.push_back(*bound);
  m_queues.push_back(std::move(q));
  if (!bound.ok()) return bound.error();  // disconnect() unmaps what was mapped
  return {};
}

void NetBack::disconnect() {
  for (auto& q : m_queues) {
    m_domain.gnttab().unmap(q->tx_map);
    m_domain.gnttab().unmap(q->rx_map);
    for (uint32_t port : q->backend_ports) m_domain.release_backend_port(port);
  }
  m_queues.clear();
  m_rx_backlog.clear();
  m_rx_backlog_bytes = 0;
  ++m_generation;
  if (m_refill_timer) m_loop.cancel_timer(*m_refill_timer);
  if (m_rx_retry_timer) m_loop.cancel_timer(*m_rx_retry_timer);
  m_refill_timer.reset();
  m_rx_retry_timer.reset();
}

void NetBack::on_tx_notify(uint64_t generation, unsigned queue) {
  if (generation != m_generation || queue >= m_queues.size()) return;
  drain_tx(*m_queues[queue]);
  // A guest that posts rx buffers without feature-rx-notify still gets its backlog.
  if (!m_rx_backlog.empty()) fill_rx();
}

void NetBack::on_rx_notify(uint64_t generation, unsigned queue) {
  if (generation != m_generation || queue >= m_queues.size()) return;
  if (m_queues[queue]->rx->overflowed()) return fail("the frontend overran the rx ring");
  fill_rx();
}

void NetBack::drain_tx(Queue& q) {
  auto& ring = *q.tx;
  bool answered = false;
  do {
    if (ring.overflowed()) return fail("the frontend overran the tx ring");
    while (ring.unconsumed_requests()) {
      // Over the rate limit: leave the rest on the ring until the credit
      // refills (the guest's ring fills up and its stack slows down, as with
      // Linux's netback) rather than drop and cost TCP a timeout.
      if (!q.assembler.in_progress() && !has_credit()) {
        ++m_counters.tx_throttled;
        schedule_refill();
        break;
      }
      // Charged by the copy the packet is built from, never by a read of the
      // slot before it: the frontend may change the slot in between, and a
      // packet peeked at as 60 bytes could go out as a 64 KiB GSO packet
      // charged for 60 (a double fetch that let a guest pass its rate).
      netif_tx_request request = ring.take_request();
      if (!q.assembler.in_progress()) charge(request.size);
      TxAssembler::Step step = q.assembler.add(request);
      if (step == TxAssembler::Step::kNeedMore) continue;
      const TxPacket& packet = q.assembler.packet();
      if (step == TxAssembler::Step::kError) {
        ++m_counters.tx_errors;
        m_domain.log("netback: vif %u: packet dropped: %s", m_devid, to_string(q.assembler.error()));
        if (q.assembler.error() == TxCheck::kTooManySlots) return fail("a packet took more slots than allowed");
        answer_tx(q, packet, NETIF_RSP_ERROR);
      } else {
        transmit(q, packet);
      }
      q.assembler.reset();
      answered = true;
    }
  } while (!m_refill_timer && ring.final_check_for_requests());
  if (answered && ring.push_responses() == NotifyNeeded::kYes) m_domain.notify_guest(q.tx_port);
}

void NetBack::drain_every_tx() {
  // Not a range-for: a queue whose frontend broke its ring disconnects the
  // device inside drain_tx(), and m_queues is empty when it returns. Going
  // on to the next queue then read freed memory (a guest with two queues
  // crashed the hypervisor from the refill timer: hostile-net-index).
  uint64_t generation = m_generation;
  for (size_t i = 0; i < m_queues.size() && m_generation == generation; ++i) drain_tx(*m_queues[i]);
}

void NetBack::schedule_refill() {
  if (m_refill_timer) return;
  std::weak_ptr<bool> alive = m_alive;
  uint64_t generation = m_generation;
  m_refill_timer = m_loop.add_timer(m_credit_time + m_vif.rate_interval_ns, [this, alive, generation] {
    if (alive.expired()) return;
    m_refill_timer.reset();
    if (generation != m_generation) return;
    drain_every_tx();
  });
}

void NetBack::answer_tx(Queue& q, const TxPacket& packet, int16_t status) {
  for (unsigned i = 0; i < packet.nr_slots; ++i) {
    netif_tx_response rsp{};
    rsp.id = packet.ids[i];
    // ABI: extra-info slots are answered NETIF_RSP_NULL (xen/io/netif.h).
    rsp.status = packet.is_extra[i] ? NETIF_RSP_NULL : status;
    q.tx->put_response(rsp);
  }
}

void NetBack::transmit(Queue& q, const TxPacket& packet) {
  bool in_place = packet.gso && m_uplink.carries_offload();
  switch (in_place ? send_in_place(packet) : send_copied(packet)) {
    case TxVerdict::kSent:
      ++m_counters.tx_packets;
      m_counters.tx_bytes += packet.total_size;
      if (packet.gso) ++m_counters.tx_gso;
      return answer_tx(q, packet, NETIF_RSP_OKAY);
    case TxVerdict::kSpoofed:
      ++m_counters.tx_spoofed;
      return answer_tx(q, packet, NETIF_RSP_OKAY);
    case TxVerdict::kRefused:
    case TxVerdict::kMalformed:
      ++m_counters.tx_errors;
      return answer_tx(q, packet, NETIF_RSP_ERROR);
  }
}

NetBack::TxVerdict NetBack::send_copied(const TxPacket& packet) {
  m_frame.resize(packet.total_size);
  size_t at = 0;
  for (unsigned i = 0; i < packet.nr_fragments; ++i) {
    const TxFragment& f = packet.fragments[i];
    uint32_t size = i == 0 ? first_fragment_size(packet) : f.size;
    GrantStatus st = m_domain.gnttab().copy_from(GrantRef(f.gref), DomId(0), f.offset,
                                                 std::span<uint8_t>(m_frame.data() + at, size));
    if (st != GrantStatus::kOkay) {
      m_domain.log("netback: vif %u: fragment %u grant %u refused (%d)", m_devid, i, f.gref, static_cast<int>(st));
      return TxVerdict::kRefused;
    }
    at += size;
  }
  // Anti-spoofing: a guest sends from its own MAC only.
  if (memcmp(m_frame.data() + 6, m_vif.mac.data(), 6) != 0) return TxVerdict::kSpoofed;
  FrameOffload offload;
  FrameHeaders headers;
  if (!prepare_tx_offload(packet, offload, headers)) return TxVerdict::kMalformed;
  if (offload.gso == GsoType::kNone || m_uplink.carries_offload()) {
    m_uplink.send(m_frame, offload);
    if (m_handshakes)
      if (auto ack = m_handshakes->on_from_guest(m_frame)) queue_rx(RxPacket{std::move(*ack)});
  } else if (m_uplink.offer_to_interceptor(m_frame)) {
    // A forwarded connection's packet: the hypervisor's own TCP takes its
    // payload whole (tcp_splice.h), whatever its size.
  } else if (m_uplink.takes_large_frames()) {
    // passt reads the payload out of a packet of any size, but wants it whole.
    complete_partial_checksum(m_frame, offload.csum_start, offload.csum_offset);
    m_uplink.send(m_frame);
  } else {
    tcp_segment(m_frame, headers, offload.gso_size, [this](std::span<const uint8_t> segment) { m_uplink.send(segment); });
  }
  return TxVerdict::kSent;
}

// The payload of a large TCP segment crosses into the kernel in the writev
// that hands it to the TAP, straight from the guest's pages: copying it here
// first would be a second pass over every byte. Only the headers are copied,
// and everything the uplink trusts (MAC, lengths, the seeded checksum) is
// checked and written in that private copy, which is what the kernel reads.
// The guest may still change the payload under the writev; that garbles only
// its own packet, whose checksum the kernel computes from what it copied.
NetBack::TxVerdict NetBack::send_in_place(const TxPacket& packet) {
  GrantTable& gt = m_domain.gnttab();
  std::array<std::span<const uint8_t>, kMaxTxSlots> fragments;
  unsigned held = 0;
  TxVerdict verdict = TxVerdict::kSent;
  for (; held < packet.nr_fragments; ++held) {
    const TxFragment& f = packet.fragments[held];
    uint32_t size = held == 0 ? first_fragment_size(packet) : f.size;
    GrantStatus st = gt.begin_read(GrantRef(f.gref), DomId(0), f.offset, size, &fragments[held]);
    if (st != GrantStatus::kOkay) {
      m_domain.log("netback: vif %u: fragment %u grant %u refused (%d)", m_devid, held, f.gref, static_cast<int>(st));
      verdict = TxVerdict::kRefused;
      break;
    }
  }
  if (verdict == TxVerdict::kSent) {
    // The headers, copied once: everything below reads the copy only.
    m_frame.resize(std::min<size_t>(packet.total_size, inet::kFrameHeadMax));
    std::array<std::span<const uint8_t>, 1 + kMaxTxSlots> pieces;
    pieces[0] = m_frame;
    unsigned count = 1 + copy_head(std::span(fragments.data(), held), m_frame, pieces.data() + 1);
    FrameOffload offload;
    FrameHeaders headers;
    if (memcmp(m_frame.data() + 6, m_vif.mac.data(), 6) != 0)
      verdict = TxVerdict::kSpoofed;
    else if (!prepare_gso_offload(packet, m_frame, packet.total_size, offload, headers))
      verdict = TxVerdict::kMalformed;
    else
      m_uplink.send(std::span<const std::span<const uint8_t>>(pieces.data(), count), offload);
  }
  for (unsigned i = 0; i < held; ++i) gt.end_read(GrantRef(packet.fragments[i].gref));
  return verdict;
}

bool NetBack::prepare_tx_offload(const TxPacket& packet, FrameOffload& offload, FrameHeaders& h) {
  if (packet.gso) return prepare_gso_offload(packet, m_frame, m_frame.size(), offload, h);
  if (!(packet.flags & NETTXF_csum_blank)) return true;
  std::optional<FrameHeaders> parsed = parse_frame_headers(m_frame);
  if (!parsed) return true;  // not a checksum we know how to do: sent as it is
  h = *parsed;
  // The kernel sums to the end of the frame: a padded frame is done here.
  if (m_uplink.carries_offload() && h.end == m_frame.size()) {
    seed_pseudo_header(m_frame, h);
    offload.partial_csum = true;
    offload.csum_start = static_cast<uint16_t>(h.l4);
    offload.csum_offset = static_cast<uint16_t>(h.csum_offset());
  } else {
    fill_l4_checksum(m_frame, h);
  }
  return true;
}

bool NetBack::prepare_gso_offload(const TxPacket& packet, std::span<uint8_t> head, size_t frame_size,
                                  FrameOffload& offload, FrameHeaders& h) {
  GsoType type = packet.gso->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ? GsoType::kTcpV4 : GsoType::kTcpV6;
  uint16_t mss = packet.gso->u.gso.size;
  // Segments must be frames the MTU allows, whoever cuts them.
  GsoCheck check = check_tcp_gso(head, frame_size, type, mss, kMaxFrame, h);
  if (check != GsoCheck::kOk) {
    m_domain.log("netback: vif %u: GSO packet dropped: %s", m_devid, to_string(check));
    return false;
  }
  // A GSO packet's checksum is always to be done (Linux's netback forces
  // CHECKSUM_PARTIAL too), whatever NETTXF_csum_blank said.
  seed_pseudo_header(head, h);
  offload.partial_csum = true;
  offload.csum_start = static_cast<uint16_t>(h.l4);
  offload.csum_offset = static_cast<uint16_t>(h.csum_offset());
  offload.gso = type;
  offload.gso_size = mss;
  offload.hdr_len = static_cast<uint16_t>(h.payload);
  offload.gso_ecn = (head[h.l4 + 13] & 0x80) != 0;  // CWR
  return true;
}

bool NetBack::has_credit() {
  if (m_vif.rate_bytes == 0) return true;
  uint64_t now = monotonic_ns();
  if (uint64_t intervals = (now - m_credit_time) / m_vif.rate_interval_ns; intervals > 0) {
    // An interval's credit for each one passed, a debt paid first, never
    // more than a full bucket.
    int64_t rate = static_cast<int64_t>(m_vif.rate_bytes);
    int64_t refill = intervals >= 1024 ? rate : static_cast<int64_t>(intervals) * rate;
    m_credit = std::min(rate, m_credit + refill);
    m_credit_time = now;
  }
  // A packet goes while any credit is left, and one larger than what is left
  // leaves a debt: a 64 KiB GSO packet is worth several intervals at a low
  // rate, and must not pass on every full bucket.
  return m_credit > 0;
}

void NetBack::on_uplink_frame(std::span<const uint8_t> frame, const FrameOffload& offload) {
  if (m_queues.empty() || frame.size() < kMinFrame || frame.size() > FramePort::kMaxFrame) return;
  // Only frames for this vif: its MAC, broadcast or multicast (a switch floods).
  if (!is_group_address(frame.data()) && memcmp(frame.data(), m_vif.mac.data(), 6) != 0) return;
  if (m_handshakes) m_handshakes->on_to_guest(frame);
  bool taken = prepare_rx_packets(std::vector<uint8_t>(frame.begin(), frame.end()), offload, m_fe,
                                  [this](RxPacket packet) { queue_rx(std::move(packet)); });
  if (!taken) ++m_counters.rx_dropped;
}

void NetBack::queue_rx(RxPacket packet) {
  if (m_rx_backlog.empty()) {
    Queue& q = rx_queue_for(packet.data);
    if (deliver(q, packet)) {
      if (q.rx->push_responses() == NotifyNeeded::kYes) m_domain.notify_guest(q.rx_port);
      return;
    }
  }
  if (m_rx_backlog.size() >= kRxBacklog || m_rx_backlog_bytes + packet.data.size() > kRxBacklogBytes) {
    ++m_counters.rx_dropped;
    return;
  }
  m_rx_backlog_bytes += packet.data.size();
  m_rx_backlog.push_back(std::move(packet));
  if (m_rx_backlog.size() >= kRxPauseAt || m_rx_backlog_bytes >= kRxPauseAtBytes) m_uplink.set_paused(true);
  arm_rx_retry();
}

void NetBack::arm_rx_retry() {
  if (m_rx_retry_timer) return;
  std::weak_ptr<bool> alive = m_alive;
  m_rx_retry_timer = m_loop.add_timer(monotonic_ns() + kRxRetryNs, [this, alive] {
    if (alive.expired()) return;
    m_rx_retry_timer.reset();
    fill_rx();
  });
}

NetBack::Queue& NetBack::rx_queue_for(std::span<const uint8_t> frame) {
  if (m_queues.size() == 1 || frame.size() < 38) return *m_queues[0];
  // A flow hash over the IPv4 addresses and ports keeps a flow on one queue.
  uint32_t h = 0;
  for (size_t i = 26; i < 38; ++i) h = h * 31 + frame[i];
  return *m_queues[h % m_queues.size()];
}

bool NetBack::deliver(Queue& q, const RxPacket& packet) {
  RxPut put = put_rx_packet(*q.rx, *q.rx_shared, packet, [this](uint32_t gref, std::span<const uint8_t> data) {
    return m_domain.gnttab().copy_to(GrantRef(gref), DomId(0), 0, data) == GrantStatus::kOkay;
  });
  switch (put) {
    case RxPut::kNoRoom: return false;
    case RxPut::kCopyFailed: ++m_counters.rx_dropped; break;
    case RxPut::kDelivered:
      ++m_counters.rx_packets;
      m_counters.rx_bytes += packet.data.size();
      if (packet.gso != GsoType::kNone) ++m_counters.rx_gso;
      break;
  }
  return true;
}

void NetBack::fill_rx() {
  if (m_queues.empty()) return;
  std::vector<bool> pushed(m_queues.size(), false);
  while (!m_rx_backlog.empty()) {
    Queue& q = rx_queue_for(m_rx_backlog.front().data);
    if (!deliver(q, m_rx_backlog.front())) break;
    pushed[q.index] = true;
    m_rx_backlog_bytes -= m_rx_backlog.front().data.size();
    m_rx_backlog.pop_front();
  }
  for (auto& q : m_queues)
    if (pushed[q->index] && q->rx->push_responses() == NotifyNeeded::kYes) m_domain.notify_guest(q->rx_port);
  if (!m_rx_backlog.empty()) return arm_rx_retry();
  m_uplink.set_paused(false);  // may deliver frames it held, so last
}

}  // namespace atl::hv
