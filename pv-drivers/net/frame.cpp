// Frame header parsing and Internet checksums for netfront (frame.h).
#include "frame.h"

#include <string.h>

namespace atl::net {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100;
constexpr uint8_t kTcp = 6, kUdp = 17;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
uint16_t swap16(uint16_t v) { return static_cast<uint16_t>(v << 8 | v >> 8); }

uint32_t fnv(uint32_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 16777619u;
  return h;
}

// The offset of the IP header and the Ethernet type, past one VLAN tag.
bool ethertype(std::span<const uint8_t> f, size_t& l3, uint16_t& type) {
  if (f.size() < 14) return false;
  type = be16(&f[12]);
  l3 = 14;
  if (type == kEthVlan) {
    if (f.size() < 18) return false;
    type = be16(&f[16]);
    l3 = 18;
  }
  return true;
}

}  // namespace

std::optional<FrameHeaders> parse_frame(std::span<const uint8_t> f, size_t total) {
  FrameHeaders h;
  uint16_t type;
  if (!ethertype(f, h.l3, type)) return std::nullopt;
  size_t ip_end;
  if (type == kEthIpv4) {
    if (f.size() < h.l3 + 20) return std::nullopt;
    const uint8_t* ip = &f[h.l3];
    size_t ihl = (ip[0] & 0x0f) * 4u;
    size_t length = be16(ip + 2);
    bool fragment = (be16(ip + 6) & 0x3fff) != 0;  // MF or an offset
    if ((ip[0] >> 4) != 4 || ihl < 20 || length < ihl || fragment) return std::nullopt;
    h.proto = ip[9];
    h.l4 = h.l3 + ihl;
    ip_end = h.l3 + length;
  } else if (type == kEthIpv6) {
    if (f.size() < h.l3 + 40) return std::nullopt;
    const uint8_t* ip = &f[h.l3];
    if ((ip[0] >> 4) != 6) return std::nullopt;
    h.ipv6 = true;
    h.proto = ip[6];  // extension headers are not followed
    h.l4 = h.l3 + 40;
    ip_end = h.l4 + be16(ip + 4);
  } else {
    return std::nullopt;
  }
  if (h.proto != kTcp && h.proto != kUdp) return std::nullopt;
  // Ethernet pads short frames: the IP length may be less than the frame.
  if (ip_end > total) return std::nullopt;
  h.l4_length = ip_end - h.l4;
  if (h.proto == kTcp) {
    if (f.size() < h.l4 + 20) return std::nullopt;
    h.l4_header = (f[h.l4 + 12] >> 4) * 4u;
    if (h.l4_header < 20 || h.l4_header > h.l4_length || f.size() < h.l4 + h.l4_header) return std::nullopt;
  } else {
    h.l4_header = 8;
    if (h.l4_length < 8 || f.size() < h.l4 + 8) return std::nullopt;
  }
  h.flow = flow_hash(f);
  return h;
}

uint32_t flow_hash(std::span<const uint8_t> f) {
  size_t l3;
  uint16_t type;
  if (!ethertype(f, l3, type)) return 0;
  uint32_t h = 2166136261u;
  size_t l4 = 0;
  uint8_t proto = 0;
  if (type == kEthIpv4 && f.size() >= l3 + 20) {
    const uint8_t* ip = &f[l3];
    h = fnv(h, ip + 12, 8);
    proto = ip[9];
    if ((be16(ip + 6) & 0x3fff) == 0 && (ip[0] & 0x0f) >= 5) l4 = l3 + (ip[0] & 0x0f) * 4u;
  } else if (type == kEthIpv6 && f.size() >= l3 + 40) {
    h = fnv(h, &f[l3 + 8], 32);
    proto = f[l3 + 6];
    l4 = l3 + 40;
  } else {
    return 0;
  }
  if ((proto == kTcp || proto == kUdp) && l4 && f.size() >= l4 + 4) h = fnv(h, &f[l4], 4);
  return h ? h : 1;
}

// The sum is kept in the machine's (little-endian) word order and swapped once
// at the end (RFC 1071 section 2(B): the sum is byte-order independent).
void InetSum::add(std::span<const uint8_t> bytes) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  if (n == 0) return;
  if (m_odd) {  // this byte is the second of a 16-bit word
    m_sum += static_cast<uint64_t>(*p++) << 8;
    --n;
    m_odd = false;
  }
  uint64_t sum = m_sum;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    memcpy(&v, p, 8);
    sum += v;
    sum += sum < v;  // end-around carry
  }
  for (; n >= 2; p += 2, n -= 2) {
    uint16_t v;
    memcpy(&v, p, 2);
    sum += v;
    sum += sum < v;
  }
  if (n) {
    sum += *p;
    sum += sum < *p;
    m_odd = true;
  }
  m_sum = sum;
}

void InetSum::add_u32(uint32_t value) {
  uint64_t v = swap16(static_cast<uint16_t>(value >> 16)) + swap16(static_cast<uint16_t>(value));
  m_sum += v;
  m_sum += m_sum < v;
}

uint16_t InetSum::folded() const {
  uint64_t s = m_sum;
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffffffff) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return swap16(static_cast<uint16_t>(s));
}

uint16_t pseudo_header_sum(std::span<const uint8_t> f, const FrameHeaders& h) {
  InetSum sum;
  if (h.ipv6)
    sum.add(f.subspan(h.l3 + 8, 32));
  else
    sum.add(f.subspan(h.l3 + 12, 8));
  sum.add_u32(h.proto);
  sum.add_u32(static_cast<uint32_t>(h.l4_length));
  return sum.folded();
}

}  // namespace atl::net
