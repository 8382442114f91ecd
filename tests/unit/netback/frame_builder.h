// Test-side frames and an independent Internet checksum (RFC 1071, a byte
// pair at a time) for the netback tests of segmentation, offload and rx
// preparation: nothing here calls the code under test.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace nbtest {

using Bytes = std::vector<uint8_t>;

constexpr uint8_t kTcp = 6, kUdp = 17;
constexpr uint8_t kFin = 0x01, kSyn = 0x02, kPsh = 0x08, kAck = 0x10, kCwr = 0x80;
inline const Bytes kSrc4 = {192, 168, 7, 2}, kDst4 = {10, 0, 0, 1};
inline const Bytes kSrc6 = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x16, 0x3e, 0xff, 0xfe, 0x01, 0x02, 0x03};
inline const Bytes kDst6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xca, 0xfe, 0xbe, 0xef};

inline void put16(Bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
inline void put32(Bytes& b, size_t at, uint32_t v) {
  put16(b, at, v >> 16);
  put16(b, at + 2, v & 0xffff);
}
inline uint16_t get16(const Bytes& b, size_t at) { return static_cast<uint16_t>(b[at] << 8 | b[at + 1]); }
inline uint32_t get32(const Bytes& b, size_t at) { return uint32_t{get16(b, at)} << 16 | get16(b, at + 2); }
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }

// The one's complement sum as big-endian 16-bit words, folded, not inverted.
inline uint16_t reference_sum(const Bytes& b, size_t from = 0, size_t to = SIZE_MAX) {
  if (to > b.size()) to = b.size();
  uint64_t sum = 0;
  for (size_t i = from; i < to; i += 2) sum += (uint64_t{b[i]} << 8) | (i + 1 < to ? b[i + 1] : 0u);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

inline Bytes payload_pattern(size_t n, uint8_t salt = 0) {
  Bytes p(n);
  for (size_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(i * 7 + (i >> 8) + salt);
  return p;
}

struct FrameSpec {
  int ip_version = 4;
  uint8_t proto = kTcp;
  bool vlan = false;
  unsigned tcp_option_words = 0;  // TCP header = 20 + 4 * this
  uint32_t seq = 1000;
  uint8_t tcp_flags = kAck | kPsh;
  uint16_t ip_id = 0x4242;
  uint16_t checksum_field = 0;
};

// Ethernet (+ 802.1Q) + IPv4/IPv6 + TCP/UDP + payload, lengths consistent.
inline Bytes build_frame(const FrameSpec& s, const Bytes& payload) {
  Bytes f = {0x00, 0x16, 0x3e, 0xaa, 0xbb, 0xcc, 0x00, 0x16, 0x3e, 0x01, 0x02, 0x03};
  uint16_t type = s.ip_version == 4 ? 0x0800 : 0x86dd;
  if (s.vlan) f.insert(f.end(), {0x81, 0x00, 0x20, 0x05});
  f.insert(f.end(), {static_cast<uint8_t>(type >> 8), static_cast<uint8_t>(type)});
  Bytes l4(s.proto == kTcp ? 20 + 4 * s.tcp_option_words : 8, 0);
  put16(l4, 0, 49152);
  put16(l4, 2, 80);
  if (s.proto == kTcp) {
    put32(l4, 4, s.seq);
    put32(l4, 8, 0x01020304);
    l4[12] = static_cast<uint8_t>((5 + s.tcp_option_words) << 4);
    l4[13] = s.tcp_flags;
    put16(l4, 14, 64240);
    put16(l4, 16, s.checksum_field);
    for (unsigned i = 0; i < 4 * s.tcp_option_words; ++i) l4[20 + i] = 1;  // NOPs
  } else {
    put16(l4, 4, static_cast<uint32_t>(8 + payload.size()));
    put16(l4, 6, s.checksum_field);
  }
  append(l4, payload);
  if (s.ip_version == 4) {
    Bytes ip(20, 0);
    ip[0] = 0x45;
    put16(ip, 2, static_cast<uint32_t>(20 + l4.size()));
    put16(ip, 4, s.ip_id);
    put16(ip, 6, 0x4000);  // DF
    ip[8] = 64;
    ip[9] = s.proto;
    std::copy(kSrc4.begin(), kSrc4.end(), ip.begin() + 12);
    std::copy(kDst4.begin(), kDst4.end(), ip.begin() + 16);
    put16(ip, 10, static_cast<uint16_t>(~reference_sum(ip)));
    append(f, ip);
  } else {
    Bytes ip(8, 0);
    ip[0] = 0x60;
    put16(ip, 4, static_cast<uint32_t>(l4.size()));
    ip[6] = s.proto;
    ip[7] = 64;
    append(ip, kSrc6);
    append(ip, kDst6);
    append(f, ip);
  }
  append(f, l4);
  return f;
}

inline size_t l3_of(const FrameSpec& s) { return s.vlan ? 18 : 14; }
inline size_t l4_of(const FrameSpec& s) { return l3_of(s) + (s.ip_version == 4 ? 20 : 40); }
inline size_t headers_of(const FrameSpec& s) { return l4_of(s) + (s.proto == kTcp ? 20 + 4 * s.tcp_option_words : 8); }

// The pseudo-header of a frame built above, for a TCP/UDP length of `length`.
inline Bytes pseudo_header(const FrameSpec& s, const Bytes& frame, size_t length) {
  size_t l3 = l3_of(s);
  Bytes p;
  if (s.ip_version == 4) {
    p.assign(frame.begin() + static_cast<ptrdiff_t>(l3 + 12), frame.begin() + static_cast<ptrdiff_t>(l3 + 20));
    p.insert(p.end(), {0, s.proto, 0, 0});
    put16(p, 10, static_cast<uint32_t>(length));
  } else {
    p.assign(frame.begin() + static_cast<ptrdiff_t>(l3 + 8), frame.begin() + static_cast<ptrdiff_t>(l3 + 40));
    p.insert(p.end(), {0, 0, 0, 0, 0, 0, 0, s.proto});
    put16(p, 34, static_cast<uint32_t>(length));
  }
  return p;
}

// Whether the TCP/UDP checksum of a frame built above verifies (the segment
// runs from l4 to the end of the frame).
inline bool l4_checksum_verifies(const FrameSpec& s, const Bytes& frame) {
  size_t l4 = l4_of(s);
  Bytes all = pseudo_header(s, frame, frame.size() - l4);
  all.insert(all.end(), frame.begin() + static_cast<ptrdiff_t>(l4), frame.end());
  return reference_sum(all) == 0xffff;
}

// The folded pseudo-header sum: what a partial checksum's field holds.
inline uint16_t pseudo_sum(const FrameSpec& s, const Bytes& frame) {
  return reference_sum(pseudo_header(s, frame, frame.size() - l4_of(s)));
}

}  // namespace nbtest
