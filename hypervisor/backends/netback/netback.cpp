// netback's data path: transmit requests off the tx ring, assembled and checked,
// copied out of the guest with grant copies and sent through the uplink; frames
// from the uplink copied into the buffers the guest posted on the rx ring.
#include "netback.h"

#include <cstdio>
#include <cstring>

#include "clock.h"

namespace atl::hv {
namespace {

constexpr uint64_t kRxRetryNs = 10'000'000;  // when the guest posts buffers without notifying

bool is_group_address(const uint8_t* mac) { return (mac[0] & 1) != 0; }

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
  q->rx.emplace(reinterpret_cast<NetifRxSharedRing*>(rx->page.data()));
  q->tx_port = keys.tx_port;
  q->rx_port = keys.rx_port;
  unsigned index = q->index;
  uint64_t generation = m_generation;
  std::weak_ptr<bool> alive = m_alive;
  // Ports stay bound until the domain ends; a generation bump silences old ones.
  Result<void> bound;
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
    if (bound.ok())
      bound = m_domain.bind_backend_port(keys.rx_port, [this, alive, generation, index] {
        if (!alive.expired()) on_rx_notify(generation, index);
      });
  }
  m_queues.push_back(std::move(q));
  if (!bound.ok()) return bound.error();  // disconnect() unmaps what was mapped
  return {};
}

void NetBack::disconnect() {
  for (auto& q : m_queues) {
    m_domain.gnttab().unmap(q->tx_map);
    m_domain.gnttab().unmap(q->rx_map);
  }
  m_queues.clear();
  m_rx_backlog.clear();
  ++m_generation;
  if (m_refill_timer) m_loop.cancel_timer(*m_refill_timer);
  if (m_rx_retry_timer) m_loop.cancel_timer(*m_rx_retry_timer);
  m_refill_timer.reset();
  m_rx_retry_timer.reset();
}

void NetBack::fail_vif(const char* why) {
  fprintf(stderr, "atoll: dom%u vif %u: %s; disconnecting the vif\n", m_domain.domid(), m_devid, why);
  disconnect();
  set_state(XenbusStateClosing);
}

void NetBack::on_tx_notify(uint64_t generation, unsigned queue) {
  if (generation != m_generation || queue >= m_queues.size()) return;
  drain_tx(*m_queues[queue]);
  // A guest that posts rx buffers without feature-rx-notify still gets its backlog.
  if (!m_rx_backlog.empty()) fill_rx();
}

void NetBack::on_rx_notify(uint64_t generation, unsigned queue) {
  if (generation != m_generation || queue >= m_queues.size()) return;
  if (m_queues[queue]->rx->overflowed()) return fail_vif("the frontend overran the rx ring");
  fill_rx();
}

void NetBack::drain_tx(Queue& q) {
  auto& ring = *q.tx;
  bool answered = false;
  do {
    if (ring.overflowed()) return fail_vif("the frontend overran the tx ring");
    while (ring.unconsumed_requests()) {
      // Over the rate limit: leave the rest on the ring until the credit
      // refills (the guest's ring fills up and its stack slows down, as with
      // Linux's netback) rather than drop and cost TCP a timeout.
      if (!q.assembler.in_progress() && !take_credit(ring.peek_request().size)) {
        ++m_counters.tx_throttled;
        schedule_refill();
        break;
      }
      TxAssembler::Step step = q.assembler.add(ring.take_request());
      if (step == TxAssembler::Step::kNeedMore) continue;
      const TxPacket& packet = q.assembler.packet();
      if (step == TxAssembler::Step::kError) {
        ++m_counters.tx_errors;
        m_domain.log("netback: vif %u: packet dropped: %s", m_devid, to_string(q.assembler.error()));
        if (q.assembler.error() == TxCheck::kTooManySlots) return fail_vif("a packet took more slots than allowed");
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

void NetBack::schedule_refill() {
  if (m_refill_timer) return;
  std::weak_ptr<bool> alive = m_alive;
  uint64_t generation = m_generation;
  m_refill_timer = m_loop.add_timer(m_credit_time + m_vif.rate_interval_ns, [this, alive, generation] {
    if (alive.expired()) return;
    m_refill_timer.reset();
    if (generation != m_generation) return;
    for (auto& q : m_queues) drain_tx(*q);
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
  m_frame.resize(packet.total_size);
  size_t at = 0;
  for (unsigned i = 0; i < packet.nr_fragments; ++i) {
    const TxFragment& f = packet.fragments[i];
    uint32_t size = i == 0 ? first_fragment_size(packet) : f.size;
    GrantStatus st = m_domain.gnttab().copy_from(GrantRef(f.gref), DomId(0), f.offset,
                                                 std::span<uint8_t>(m_frame.data() + at, size));
    if (st != GrantStatus::kOkay) {
      ++m_counters.tx_errors;
      m_domain.log("netback: vif %u: fragment %u grant %u refused (%d)", m_devid, i, f.gref, static_cast<int>(st));
      return answer_tx(q, packet, NETIF_RSP_ERROR);
    }
    at += size;
  }
  answer_tx(q, packet, NETIF_RSP_OKAY);
  // Anti-spoofing: a guest sends from its own MAC only.
  if (memcmp(m_frame.data() + 6, m_vif.mac.data(), 6) != 0) {
    ++m_counters.tx_spoofed;
    return;
  }
  if (packet.flags & NETTXF_csum_blank) complete_checksum(m_frame);
  ++m_counters.tx_packets;
  m_counters.tx_bytes += m_frame.size();
  m_uplink.send(m_frame);
}

bool NetBack::take_credit(uint32_t bytes) {
  if (m_vif.rate_bytes == 0) return true;
  uint64_t now = monotonic_ns();
  if (now - m_credit_time >= m_vif.rate_interval_ns) {
    m_credit = m_vif.rate_bytes;
    m_credit_time = now;
  }
  // A packet larger than a whole interval's credit still goes out on a full bucket.
  if (m_credit >= bytes || m_credit == m_vif.rate_bytes) {
    m_credit = m_credit >= bytes ? m_credit - bytes : 0;
    return true;
  }
  return false;
}

void NetBack::on_uplink_frame(std::span<const uint8_t> frame) {
  if (m_queues.empty() || frame.size() < kMinFrame || frame.size() > kPageSize) return;
  // Only frames for this vif: its MAC, broadcast or multicast (a switch floods).
  if (!is_group_address(frame.data()) && memcmp(frame.data(), m_vif.mac.data(), 6) != 0) return;
  if (m_rx_backlog.empty() && deliver(rx_queue_for(frame), frame)) {
    Queue& q = rx_queue_for(frame);
    if (q.rx->push_responses() == NotifyNeeded::kYes) m_domain.notify_guest(q.rx_port);
    return;
  }
  if (m_rx_backlog.size() >= kRxBacklog) {
    ++m_counters.rx_dropped;
    return;
  }
  m_rx_backlog.emplace_back(frame.begin(), frame.end());
  if (!m_rx_retry_timer) {
    std::weak_ptr<bool> alive = m_alive;
    m_rx_retry_timer = m_loop.add_timer(monotonic_ns() + kRxRetryNs, [this, alive] {
      if (alive.expired()) return;
      m_rx_retry_timer.reset();
      fill_rx();
    });
  }
}

NetBack::Queue& NetBack::rx_queue_for(std::span<const uint8_t> frame) {
  if (m_queues.size() == 1 || frame.size() < 38) return *m_queues[0];
  // A flow hash over the IPv4 addresses and ports keeps a flow on one queue.
  uint32_t h = 0;
  for (size_t i = 26; i < 38; ++i) h = h * 31 + frame[i];
  return *m_queues[h % m_queues.size()];
}

bool NetBack::deliver(Queue& q, std::span<const uint8_t> frame) {
  auto& ring = *q.rx;
  // Out of buffers: ask to be notified of the next one (and re-check).
  if (!ring.unconsumed_requests() && !ring.final_check_for_requests()) return false;
  netif_rx_request req = ring.take_request();
  netif_rx_response rsp{};
  rsp.id = req.id;
  rsp.offset = 0;
  // Every source computes full checksums (slirp, the host kernel, and our own
  // tx path fills in blank ones), so the guest need not check them again.
  rsp.flags = NETRXF_data_validated;
  GrantStatus st = m_domain.gnttab().copy_to(GrantRef(req.gref), DomId(0), 0, frame);
  if (st != GrantStatus::kOkay) {
    rsp.status = NETIF_RSP_ERROR;
    ++m_counters.rx_dropped;
  } else {
    rsp.status = static_cast<int16_t>(frame.size());
    ++m_counters.rx_packets;
    m_counters.rx_bytes += frame.size();
  }
  ring.put_response(rsp);
  return true;
}

void NetBack::fill_rx() {
  if (m_queues.empty()) return;
  std::vector<bool> pushed(m_queues.size(), false);
  while (!m_rx_backlog.empty()) {
    Queue& q = rx_queue_for(m_rx_backlog.front());
    if (!deliver(q, m_rx_backlog.front())) break;
    pushed[q.index] = true;
    m_rx_backlog.pop_front();
  }
  for (auto& q : m_queues)
    if (pushed[q->index] && q->rx->push_responses() == NotifyNeeded::kYes) m_domain.notify_guest(q->rx_port);
  if (!m_rx_backlog.empty() && !m_rx_retry_timer) {
    std::weak_ptr<bool> alive = m_alive;
    m_rx_retry_timer = m_loop.add_timer(monotonic_ns() + kRxRetryNs, [this, alive] {
      if (alive.expired()) return;
      m_rx_retry_timer.reset();
      fill_rx();
    });
  }
}

}  // namespace atl::hv
