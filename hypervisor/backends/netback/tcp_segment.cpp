#include "tcp_segment.h"

#include <algorithm>
#include <cstring>

#include "frame_headers.h"

namespace atl::hv {
namespace {

constexpr size_t kEth = 14, kIp = 20, kTcp = 20;
constexpr uint8_t kOptEnd = 0, kOptNop = 1, kOptMss = 2, kOptWindowScale = 3;
constexpr size_t kMaxIpPacket = 65535;

uint32_t load_be32(const uint8_t* p) {
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

void store_be32(uint8_t* p, uint32_t v) {
  store_be16(p, v >> 16);
  store_be16(p + 2, v & 0xffff);
}

// The SYN options we read; anything malformed ends the walk, keeping what was read.
void parse_options(std::span<const uint8_t> opts, TcpHeader& tcp) {
  size_t i = 0;
  while (i < opts.size()) {
    uint8_t kind = opts[i];
    if (kind == kOptEnd) return;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (i + 1 >= opts.size()) return;
    uint8_t len = opts[i + 1];
    if (len < 2 || i + len > opts.size()) return;
    if (kind == kOptMss && len == 4) tcp.mss = load_be16(&opts[i + 2]);
    if (kind == kOptWindowScale && len == 3) tcp.window_scale = std::min<uint8_t>(opts[i + 2], 14);
    i += len;
  }
}

}  // namespace

std::optional<TcpSegment> parse_tcp_segment(std::span<const uint8_t> frame) {
  if (frame.size() < kEth + kIp + kTcp || load_be16(&frame[12]) != kEthIpv4) return std::nullopt;
  const uint8_t* ip = &frame[kEth];
  size_t ihl = (ip[0] & 0x0f) * 4u;
  size_t total = load_be16(ip + 2);
  bool fragment = (load_be16(ip + 6) & 0x3fff) != 0;  // MF or an offset
  if ((ip[0] >> 4) != 4 || ihl < kIp || ip[9] != kIpProtoTcp || fragment) return std::nullopt;
  if (total < ihl + kTcp || total > frame.size() - kEth) return std::nullopt;
  const uint8_t* th = ip + ihl;
  size_t doff = (th[12] >> 4) * 4u;
  if (doff < kTcp || doff > total - ihl) return std::nullopt;

  TcpSegment s;
  std::copy_n(frame.begin(), 6, s.ends.dst_mac.begin());
  std::copy_n(frame.begin() + 6, 6, s.ends.src_mac.begin());
  s.ends.src_addr = load_be32(ip + 12);
  s.ends.dst_addr = load_be32(ip + 16);
  s.ends.src_port = load_be16(th);
  s.ends.dst_port = load_be16(th + 2);
  s.tcp.seq = load_be32(th + 4);
  s.tcp.ack = load_be32(th + 8);
  s.tcp.flags = th[13] & 0x3f;
  s.tcp.window = load_be16(th + 14);
  if (s.tcp.flags & kTcpSyn) parse_options(std::span<const uint8_t>(th + kTcp, doff - kTcp), s.tcp);
  s.payload = std::span<const uint8_t>(th + doff, total - ihl - doff);
  return s;
}

uint32_t max_frame_payload(uint16_t mss) {
  uint32_t room = kMaxIpPacket - kIp - kTcp;
  return mss == 0 ? 0 : room / mss * mss;
}

FrameOffload build_tcp_frame(const TcpEndpoints& ends, const TcpHeader& tcp, std::span<const uint8_t> payload,
                             uint16_t mss, uint16_t ip_id, std::vector<uint8_t>& out) {
  size_t options = (tcp.mss ? 4 : 0) + (tcp.window_scale ? 4 : 0);
  size_t tcp_len = kTcp + options;
  size_t ip_len = kIp + tcp_len + payload.size();
  out.resize(kEth + ip_len);
  uint8_t* f = out.data();
  std::copy(ends.dst_mac.begin(), ends.dst_mac.end(), f);
  std::copy(ends.src_mac.begin(), ends.src_mac.end(), f + 6);
  store_be16(f + 12, kEthIpv4);

  uint8_t* ip = f + kEth;
  ip[0] = 0x45;
  ip[1] = 0;
  store_be16(ip + 2, static_cast<uint32_t>(ip_len));
  store_be16(ip + 4, ip_id);
  store_be16(ip + 6, 0x4000);  // don't fragment
  ip[8] = 64;
  ip[9] = kIpProtoTcp;
  store_be16(ip + 10, 0);
  store_be32(ip + 12, ends.src_addr);
  store_be32(ip + 16, ends.dst_addr);
  store_be16(ip + 10, static_cast<uint16_t>(~ones_sum(std::span<const uint8_t>(ip, kIp))));

  uint8_t* th = ip + kIp;
  store_be16(th, ends.src_port);
  store_be16(th + 2, ends.dst_port);
  store_be32(th + 4, tcp.seq);
  store_be32(th + 8, tcp.ack);
  th[12] = static_cast<uint8_t>(tcp_len / 4 << 4);
  th[13] = tcp.flags;
  store_be16(th + 14, tcp.window);
  store_be16(th + 16, 0);
  store_be16(th + 18, 0);
  uint8_t* opt = th + kTcp;
  if (tcp.mss) {
    opt[0] = kOptMss, opt[1] = 4;
    store_be16(opt + 2, *tcp.mss);
    opt += 4;
  }
  if (tcp.window_scale) opt[0] = kOptNop, opt[1] = kOptWindowScale, opt[2] = 3, opt[3] = *tcp.window_scale;
  if (!payload.empty()) memcpy(th + tcp_len, payload.data(), payload.size());

  FrameOffload offload;
  offload.partial_csum = true;
  offload.csum_start = kEth + kIp;
  offload.csum_offset = 16;
  if (payload.size() > mss && mss > 0) {
    offload.gso = GsoType::kTcpV4;
    offload.gso_size = mss;
    offload.hdr_len = static_cast<uint16_t>(kEth + kIp + tcp_len);
  }
  return offload;
}

}  // namespace atl::hv
