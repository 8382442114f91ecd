#include "handshake_helper.h"

#include <cstring>

#include "frame_headers.h"

namespace atl::hv {
namespace {

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;
constexpr size_t kAckFrame = inet::kEthHeader + inet::kIpv4Header + inet::kTcpHeader;

uint32_t load_be32(const uint8_t* p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }
void store_be32(uint8_t* p, uint32_t v) {
  store_be16(p, v >> 16);
  store_be16(p + 2, v & 0xffff);
}

// A plain IPv4 TCP frame (no tag): its headers, else nullopt.
std::optional<FrameHeaders> tcp_v4(std::span<const uint8_t> frame) {
  auto h = parse_frame_headers(frame);
  if (!h || h->ip_version != 4 || h->proto != kIpProtoTcp || h->l3 != inet::kEthHeader) return std::nullopt;
  return h;
}

uint64_t key(uint32_t peer_addr, uint16_t peer_port, uint16_t guest_port) {
  return uint64_t(peer_addr) << 32 | uint64_t(peer_port) << 16 | guest_port;
}

// The window scale option of the TCP header at `tcp` (data offset checked by
// the parser), or -1.
int window_scale(std::span<const uint8_t> frame, const FrameHeaders& h) {
  for (size_t at = h.l4 + inet::kTcpHeader; at < h.payload;) {
    uint8_t kind = frame[at];
    if (kind == 0) break;
    if (kind == 1) {
      ++at;
      continue;
    }
    if (at + 1 >= h.payload || frame[at + 1] < 2 || at + frame[at + 1] > h.payload) break;
    if (kind == 3 && frame[at + 1] == 3) return frame[at + 2];
    at += frame[at + 1];
  }
  return -1;
}

}  // namespace

void HandshakeHelper::on_to_guest(std::span<const uint8_t> frame) {
  auto h = tcp_v4(frame);
  if (!h || (frame[h->l4 + 13] & (kSyn | kAck | kRst | kFin)) != kSyn) return;
  if (m_syns.size() >= kMaxPending) {
    uint64_t cut = m_next_order - kMaxPending / 2;
    std::erase_if(m_syns, [cut](const auto& entry) { return entry.second.order < cut; });
  }
  uint32_t peer;
  memcpy(&peer, &frame[h->l3 + 12], 4);
  m_syns[key(peer, load_be16(&frame[h->l4]), load_be16(&frame[h->l4 + 2]))] =
      Syn{load_be16(&frame[h->l4 + 14]), window_scale(frame, *h), m_next_order++};
}

std::optional<std::vector<uint8_t>> HandshakeHelper::on_from_guest(std::span<const uint8_t> frame) {
  auto h = tcp_v4(frame);
  if (!h || (frame[h->l4 + 13] & (kSyn | kAck | kRst | kFin)) != (kSyn | kAck)) return std::nullopt;
  uint32_t peer;
  memcpy(&peer, &frame[h->l3 + 16], 4);
  auto it = m_syns.find(key(peer, load_be16(&frame[h->l4 + 2]), load_be16(&frame[h->l4])));
  if (it == m_syns.end()) return std::nullopt;
  Syn syn = it->second;
  m_syns.erase(it);
  // The guest scales the windows it is sent only when both SYNs carried the
  // option; the SYN's window in those units is what passt offered.
  int shift = syn.window_scale >= 0 && window_scale(frame, *h) >= 0 ? syn.window_scale : 0;
  std::vector<uint8_t> ack(kAckFrame);
  uint8_t* eth = ack.data();
  memcpy(eth, &frame[6], 6);  // to the guest, from the peer it answered
  memcpy(eth + 6, &frame[0], 6);
  store_be16(eth + 12, inet::kEthIpv4);
  uint8_t* ip = eth + inet::kEthHeader;
  ip[0] = 0x45;
  store_be16(ip + 2, inet::kIpv4Header + inet::kTcpHeader);
  ip[6] = 0x40;  // don't fragment
  ip[8] = 64;
  ip[9] = kIpProtoTcp;
  memcpy(ip + 12, &frame[h->l3 + 16], 4);
  memcpy(ip + 16, &frame[h->l3 + 12], 4);
  store_be16(ip + 10, static_cast<uint16_t>(~ones_sum(std::span<const uint8_t>(ip, inet::kIpv4Header))));
  uint8_t* tcp = ip + inet::kIpv4Header;
  store_be16(tcp, load_be16(&frame[h->l4 + 2]));
  store_be16(tcp + 2, load_be16(&frame[h->l4]));
  store_be32(tcp + 4, load_be32(&frame[h->l4 + 8]));      // what the guest expects next
  store_be32(tcp + 8, load_be32(&frame[h->l4 + 4]) + 1);  // its SYN, taken
  tcp[12] = 5 << 4;
  tcp[13] = kAck;
  store_be16(tcp + 14, static_cast<uint16_t>(syn.window >> shift));
  FrameHeaders a{inet::kEthHeader, inet::kEthHeader + inet::kIpv4Header, kAckFrame, kAckFrame, 4, kIpProtoTcp};
  uint16_t sum = ones_sum(std::span<const uint8_t>(tcp, inet::kTcpHeader),
                          pseudo_header_sum(ack, a, inet::kTcpHeader));
  store_be16(tcp + 16, static_cast<uint16_t>(~sum));
  return ack;
}

}  // namespace atl::hv
