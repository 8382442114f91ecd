// The guest side of the hypervisor's TCP port forwards: the handshake the
// hypervisor opens towards the guest, the guest's ACKs and data, and what is
// sent back. The host side (sockets, flushes, timers) is tcp_splice_host.cpp.
#include "tcp_splice.h"

#include <algorithm>

#include "clock.h"

namespace atl::hv {

bool TcpSplice::on_guest_frame(std::span<const uint8_t> frame) {
  if (frame.size() < 14) return false;
  std::copy_n(frame.begin() + 6, 6, m_guest_mac.begin());
  m_guest_mac_known = true;
  std::optional<TcpSegment> s = parse_tcp_segment(frame);
  if (!s) return false;
  if (s->ends.src_addr != 0) m_guest_addr = s->ends.src_addr;
  if (s->ends.dst_addr != kGateway) return false;
  auto it = m_flows.find(key(s->ends.src_port, s->ends.dst_port));
  if (it == m_flows.end()) {
    // A forwarded port answering one of our ports: a connection that is gone.
    bool ours = s->ends.dst_port >= kPortBase &&
                std::any_of(m_listeners.begin(), m_listeners.end(),
                            [&](const auto& l) { return l->guest_port == s->ends.src_port; });
    if (ours) reset_unknown(*s);
    return ours;
  }
  if (!it->second->dead) on_segment(*it->second, *s);
  return true;
}

void TcpSplice::on_segment(Flow& f, const TcpSegment& s) {
  if (s.tcp.flags & kTcpRst) {
    // Only an RST that fits the connection ends it (RFC 5961's caution, simply).
    bool fits = f.established ? seq_le(f.rcv_nxt, s.tcp.seq) && seq_lt(s.tcp.seq, f.rcv_nxt + uint32_t(kInCap))
                              : (s.tcp.flags & kTcpAck) && s.tcp.ack == f.snd_nxt;
    if (!fits || f.guest_gone) return;
    ++m_counters.resets;
    if (!f.guest_fin) return close_flow(f, false, true, "reset by the guest");
    f.guest_gone = true;
    f.out = ByteQueue{};
    f.deadline = 0;
    f.ack_due = false;
    account(f);
    update_host_events(f);
    return mark_dirty(f);
  }
  if (!f.established) return on_syn_ack(f, s);
  if (s.tcp.flags & kTcpSyn) {
    f.ack_due = true;  // its SYN,ACK again: our ACK was lost
    return mark_dirty(f);
  }
  if (s.tcp.flags & kTcpAck) on_ack(f, s);
  take_payload(f, s);
  mark_dirty(f);
}

void TcpSplice::on_syn_ack(Flow& f, const TcpSegment& s) {
  constexpr uint8_t kSynAck = kTcpSyn | kTcpAck;
  if ((s.tcp.flags & kSynAck) != kSynAck || s.tcp.ack != f.iss + 1) {
    if (s.tcp.flags & kTcpAck) reset_unknown(s);
    return;
  }
  f.established = true;
  f.rcv_nxt = s.tcp.seq + 1;
  f.irs = s.tcp.seq;
  f.snd_una = f.snd_nxt = f.iss + 1;
  f.mss = std::clamp<uint16_t>(s.tcp.mss.value_or(536), 64, kWireMss);
  // Scaling is on only when both SYNs asked for it (RFC 7323 2.2).
  if (s.tcp.window_scale) {
    f.snd_shift = *s.tcp.window_scale;
    f.rcv_shift = kRcvShift;
  }
  f.snd_wnd = s.tcp.window;  // a SYN's window is never scaled
  f.deadline = 0;
  f.retries = 0;
  f.rto_ns = kRtoMinNs;
  f.ack_due = true;
  update_host_events(f);
  mark_dirty(f);
}

void TcpSplice::on_ack(Flow& f, const TcpSegment& s) {
  uint32_t ack = s.tcp.ack;
  if (seq_lt(f.snd_nxt, ack)) {
    f.ack_due = true;  // acknowledges what was never sent
    return;
  }
  uint32_t window = uint32_t(s.tcp.window) << f.snd_shift;
  if (seq_lt(f.snd_una, ack)) {
    uint32_t acked = ack - f.snd_una;
    if (f.fin_sent && ack == f.snd_nxt) {
      f.fin_acked = true;
      --acked;
    }
    f.out.consume(acked);
    account(f);
    f.snd_una = ack;
    f.dup_acks = 0;
    f.retries = 0;
    f.rto_ns = kRtoMinNs;
    f.deadline = f.snd_una != f.snd_nxt ? monotonic_ns() + f.rto_ns : 0;
    update_host_events(f);  // room to read more
  } else if (ack == f.snd_una && f.snd_nxt != f.snd_una && s.payload.empty() && window == f.snd_wnd &&
             !(s.tcp.flags & kTcpFin)) {
    // Three duplicates: the guest lost a segment (its receive queue was
    // full); everything from it is sent again.
    if (++f.dup_acks == 3) {
      f.snd_nxt = f.snd_una;
      f.fin_sent = false;
      ++m_counters.retransmits;
    }
  }
  if (window == 0) f.retries = 0;  // alive, only full: the persist timer is not a failure
  f.snd_wnd = window;
}

void TcpSplice::take_payload(Flow& f, const TcpSegment& s) {
  bool fin = (s.tcp.flags & kTcpFin) != 0;
  size_t length = s.payload.size();
  if (length == 0 && !fin) return;
  f.ack_due = true;
  if (f.guest_fin) return;  // a FIN again
  uint32_t skip = f.rcv_nxt - s.tcp.seq;
  // Data at rcv_nxt, or a resent segment reaching past it; anything else
  // (old, or after a gap the rings cannot make) is answered with an ACK only.
  if (seq_lt(f.rcv_nxt, s.tcp.seq) || skip > length || (skip == length && !fin)) return;
  // Everything the window offered is taken: kTotalCap is kept by the
  // windows offered (window_room), not by dropping what they let in (the
  // guest would resend it only at its next timeout, seconds later).
  size_t room = kInCap - std::min(kInCap, f.in.size());
  size_t take = std::min(length - skip, room);
  f.in.append(s.payload.subspan(skip, take));
  f.rcv_nxt += static_cast<uint32_t>(take);
  if (fin && skip + take == length) {
    f.guest_fin = true;
    ++f.rcv_nxt;
  }
  count_promise(f);
  account(f);
}

size_t TcpSplice::window_room(const Flow& f) const {
  size_t room = kInCap - std::min(kInCap, f.in.size());
  size_t others = m_held + m_promised - f.promise;
  size_t share = others < kTotalCap ? kTotalCap - others : 0;
  size_t floor = kInFloor - std::min(kInFloor, f.in.size());
  // Never less than was promised: a window is not taken back (RFC 1122
  // 4.2.2.16).
  return std::min(room, std::max({share, floor, size_t(f.promise)}));
}

size_t TcpSplice::room_out(const Flow& f) const {
  size_t room = kOutCap - std::min(kOutCap, f.out.size());
  if (m_held + m_promised < kTotalCap) return room;
  return std::min(room, kOutFloor - std::min(kOutFloor, f.out.size()));
}

void TcpSplice::hold_back(Flow& f) {
  if (f.starved) return;
  f.starved = true;
  m_starved.push_back(f.key);
}

void TcpSplice::count_promise(Flow& f) {
  // Nothing is promised to a guest that has sent its FIN: it sends no more.
  size_t now = !f.dead && !f.guest_fin && seq_lt(f.rcv_nxt, f.rcv_edge) ? f.rcv_edge - f.rcv_nxt : 0;
  m_promised = m_promised - f.promise + now;
  f.promise = now;
}

void TcpSplice::account(Flow& f) {
  size_t now = f.dead ? 0 : f.in.capacity() + f.out.capacity();
  m_held = m_held - f.footprint + now;
  f.footprint = now;
  if (f.dead) count_promise(f);
  if (m_starved.empty() || m_held + m_promised > kTotalCap / 4 * 3) return;
  // Room again: the connections held back read their sockets and are
  // offered a window again.
  std::vector<uint32_t> starved;
  starved.swap(m_starved);
  for (uint32_t k : starved) {
    auto it = m_flows.find(k);
    if (it == m_flows.end()) continue;
    Flow& g = *it->second;
    g.starved = false;
    if (g.dead) continue;
    g.ack_due = true;
    update_host_events(g);
    mark_dirty(g);
  }
}

uint16_t TcpSplice::window_field(Flow& f) {
  size_t room = window_room(f);
  // Narrowed by kTotalCap: opened again when the total falls (account()),
  // or the guest would wait for its persist timer, up to a minute.
  if (room < kInCap - std::min(kInCap, f.in.size())) hold_back(f);
  return static_cast<uint16_t>(std::min<size_t>(room >> f.rcv_shift, 0xffff));
}

void TcpSplice::send_segment(Flow& f, uint8_t flags, uint32_t seq, std::span<const uint8_t> payload) {
  TcpEndpoints ends{kGatewayMac, m_guest_mac, kGateway, f.guest_addr, f.our_port, f.guest_port};
  TcpHeader tcp;
  tcp.seq = seq;
  tcp.flags = flags;
  if (flags & kTcpAck) {
    tcp.ack = f.rcv_nxt;
    tcp.window = window_field(f);
    f.ack_due = false;
    f.advertised = size_t(tcp.window) << f.rcv_shift;
    f.rcv_edge = f.rcv_nxt + static_cast<uint32_t>(f.advertised);
    count_promise(f);
  }
  FrameOffload offload = build_tcp_frame(ends, tcp, payload, f.mss, m_ip_id++, m_frame);
  m_port.deliver(m_frame, offload);
}

void TcpSplice::send_syn(Flow& f) {
  TcpEndpoints ends{kGatewayMac, m_guest_mac, kGateway, f.guest_addr, f.our_port, f.guest_port};
  TcpHeader tcp;
  tcp.seq = f.iss;
  tcp.flags = kTcpSyn;
  tcp.window = 0xffff;
  tcp.mss = kWireMss;
  tcp.window_scale = kRcvShift;
  build_tcp_frame(ends, tcp, {}, 0, m_ip_id++, m_frame);
  m_port.deliver(m_frame, FrameOffload{true, 34, 16});
  f.snd_nxt = f.iss + 1;
}

void TcpSplice::reset_unknown(const TcpSegment& s) {
  if (s.tcp.flags & kTcpRst) return;
  TcpEndpoints ends{kGatewayMac, s.ends.src_mac, kGateway, s.ends.src_addr, s.ends.dst_port, s.ends.src_port};
  TcpHeader tcp;
  // RFC 793's reset for a segment that belongs to no connection.
  if (s.tcp.flags & kTcpAck) {
    tcp.seq = s.tcp.ack;
    tcp.flags = kTcpRst;
  } else {
    tcp.ack = s.tcp.seq + static_cast<uint32_t>(s.payload.size()) + ((s.tcp.flags & (kTcpSyn | kTcpFin)) ? 1 : 0);
    tcp.flags = kTcpRst | kTcpAck;
  }
  build_tcp_frame(ends, tcp, {}, 0, m_ip_id++, m_frame);
  m_port.deliver(m_frame, FrameOffload{true, 34, 16});
}

void TcpSplice::pump(Flow& f) {
  if (!f.established || f.dead || f.guest_gone) return;
  size_t pending = f.out.size();
  size_t flight = f.snd_nxt - f.snd_una - (f.fin_sent ? 1 : 0);
  size_t largest = max_frame_payload(f.mss);
  while (flight < pending && !m_port.paused()) {
    size_t room = f.snd_wnd > flight ? f.snd_wnd - flight : 0;
    if (room == 0 && f.probe && flight == 0) room = 1;
    if (room == 0) break;
    size_t n = std::min({pending - flight, room, largest});
    send_segment(f, kTcpAck | kTcpPsh, f.snd_una + uint32_t(flight), f.out.bytes().subspan(flight, n));
    flight += n;
    f.snd_nxt = f.snd_una + uint32_t(flight);
  }
  f.probe = false;
  if (f.host_eof && !f.fin_sent && flight == pending && !m_port.paused()) {
    send_segment(f, kTcpFin | kTcpAck, f.snd_nxt, {});
    ++f.snd_nxt;
    f.fin_sent = true;
  }
  // A deadline while anything is unacknowledged, or to probe a zero window.
  bool waiting = f.snd_nxt != f.snd_una || (flight < pending && f.snd_wnd == 0);
  if (waiting && f.deadline == 0) f.deadline = monotonic_ns() + f.rto_ns;
  if (waiting) arm_tick();
}

}  // namespace atl::hv
