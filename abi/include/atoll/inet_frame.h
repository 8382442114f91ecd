// Ethernet frames as both ends of a vif see them: where the IP and TCP/UDP
// headers are, and the Internet checksum (RFC 1071) arithmetic. One parser and
// one sum for netfront (checksum offload, TSO) and netback (checksum
// completion, GSO, segmentation), so both agree on what a frame they may touch
// looks like. Header-only and freestanding: the guest and the hypervisor
// include it alike. Unit-tested in tests/unit/net and tests/unit/netback.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <optional>
#include <span>

namespace atl::inet {

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100;
constexpr uint8_t kIpProtoTcp = 6, kIpProtoUdp = 17;
constexpr size_t kEthHeader = 14, kVlanTag = 4, kIpv4Header = 20, kIpv6Header = 40;
constexpr size_t kTcpHeader = 20, kUdpHeader = 8;
// Bytes at the start of a frame that hold every header parse_frame_headers()
// reads: Ethernet with a tag, IPv4 with options, TCP with options.
constexpr size_t kFrameHeadMax = kEthHeader + kVlanTag + 60 + 60;

struct FrameHeaders {
  size_t l3 = 0;       // the IP header
  size_t l4 = 0;       // the TCP or UDP header
  size_t payload = 0;  // the first byte after the TCP/UDP header
  size_t end = 0;      // the end of the IP packet (Ethernet padding may follow)
  uint8_t ip_version = 0;  // 4 or 6
  uint8_t proto = 0;       // kIpProtoTcp or kIpProtoUdp

  // The checksum field's offset within the TCP/UDP header.
  size_t csum_offset() const { return proto == kIpProtoTcp ? 16 : 6; }
  size_t l4_length() const { return end - l4; }
};

inline uint16_t load_be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
inline void store_be16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

// Ethernet (at most one 802.1Q tag), then IPv4 (options allowed, not a
// fragment) or IPv6 (no extension headers), then a whole TCP (its data offset
// checked) or UDP header inside the IP length. `head` is the frame's first
// bytes (all of it, or at least kFrameHeadMax), `frame_size` its length.
// nullopt for anything else.
inline std::optional<FrameHeaders> parse_frame_headers(std::span<const uint8_t> head, size_t frame_size) {
  FrameHeaders h;
  h.l3 = kEthHeader;
  if (head.size() > frame_size || head.size() < kEthHeader) return std::nullopt;
  uint16_t type = load_be16(&head[12]);
  if (type == kEthVlan) {
    if (head.size() < kEthHeader + kVlanTag) return std::nullopt;
    type = load_be16(&head[16]);
    h.l3 += kVlanTag;
  }
  if (type == kEthIpv4) {
    if (head.size() < h.l3 + kIpv4Header || head[h.l3] >> 4 != 4) return std::nullopt;
    const uint8_t* ip = &head[h.l3];
    size_t ihl = (ip[0] & 0xf) * 4u;
    size_t total = load_be16(ip + 2);
    if (ihl < kIpv4Header || total < ihl || h.l3 + total > frame_size) return std::nullopt;
    // A fragment's checksum covers the whole datagram: no part of it can be done here.
    if ((load_be16(ip + 6) & 0x3fff) != 0) return std::nullopt;
    h.ip_version = 4;
    h.proto = ip[9];
    h.l4 = h.l3 + ihl;
    h.end = h.l3 + total;
  } else if (type == kEthIpv6) {
    if (head.size() < h.l3 + kIpv6Header || head[h.l3] >> 4 != 6) return std::nullopt;
    const uint8_t* ip = &head[h.l3];
    h.ip_version = 6;
    h.proto = ip[6];  // extension headers are not followed
    h.l4 = h.l3 + kIpv6Header;
    h.end = h.l4 + load_be16(ip + 4);
    if (h.end > frame_size) return std::nullopt;
  } else {
    return std::nullopt;
  }
  size_t l4_length = h.end - h.l4;
  if (h.proto == kIpProtoTcp) {
    if (l4_length < kTcpHeader || head.size() < h.l4 + kTcpHeader) return std::nullopt;
    size_t data_offset = (head[h.l4 + 12] >> 4) * 4u;
    if (data_offset < kTcpHeader || data_offset > l4_length || head.size() < h.l4 + data_offset) return std::nullopt;
    h.payload = h.l4 + data_offset;
  } else if (h.proto == kIpProtoUdp) {
    if (l4_length < kUdpHeader || head.size() < h.l4 + kUdpHeader) return std::nullopt;
    h.payload = h.l4 + kUdpHeader;
  } else {
    return std::nullopt;
  }
  return h;
}

// The one's complement sum of `bytes` read as big-endian 16-bit words (an odd
// last byte padded with zero), plus `seed`, folded to 16 bits, not inverted.
// Sums of pieces that start at even offsets chain through `seed`. Words are
// added as they lie in memory, 64 bits at a time, and swapped once at the end
// (RFC 1071, "Byte Order Independence"); it runs over 64 KiB GSO packets.
inline uint16_t ones_sum(std::span<const uint8_t> bytes, uint32_t seed = 0) {
  static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "ones_sum reads words in little-endian order");
  auto load64 = [](const uint8_t* p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
  };
  // Each 64-bit word is added as two 32-bit halves: no carry is lost below
  // 2^32 words, far past any frame.
  auto add = [](uint64_t acc, uint64_t w) { return acc + (w & 0xffffffffu) + (w >> 32); };
  auto fold = [](uint64_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(s);
  };
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  uint64_t a = 0, b = 0;
  for (; n >= 32; p += 32, n -= 32) {
    a = add(a, load64(p));
    b = add(b, load64(p + 8));
    a = add(a, load64(p + 16));
    b = add(b, load64(p + 24));
  }
  for (; n >= 8; p += 8, n -= 8) a = add(a, load64(p));
  for (; n >= 2; p += 2, n -= 2) b += static_cast<uint64_t>(p[0] | p[1] << 8);
  // A lone last byte is the high half of a big-endian word: the low half of ours.
  if (n) a += p[0];
  uint16_t native = fold(a + b);
  uint16_t be = static_cast<uint16_t>(native << 8 | native >> 8);
  return fold(uint64_t{be} + seed);
}

// The pseudo-header sum (addresses, protocol, TCP/UDP length) of `h`, folded,
// not inverted: what Linux leaves in the field of a CHECKSUM_PARTIAL packet,
// and so what NETTXF_csum_blank / NETRXF_csum_blank expect there.
inline uint16_t pseudo_header_sum(std::span<const uint8_t> head, const FrameHeaders& h, size_t l4_length) {
  // IPv4: source and destination at 12..20; IPv6: at 8..40.
  std::span<const uint8_t> addresses = h.ip_version == 4 ? head.subspan(h.l3 + 12, 8) : head.subspan(h.l3 + 8, 32);
  // The length is 16 bits in IPv4's pseudo-header and 32 in IPv6's; both sum the same.
  return ones_sum(addresses, static_cast<uint32_t>(h.proto) + (l4_length & 0xffff) + (l4_length >> 16));
}

}  // namespace atl::inet
