// Completing the TCP/UDP checksum of a frame a guest sent with NETTXF_csum_blank.
// The field is recomputed from scratch (pseudo-header included), so it does not
// matter whether the guest left it zero or seeded it with the pseudo-header sum
// as Linux does.
#include <cstdint>
#include <span>

#include "netback.h"

namespace atl::hv {
namespace {

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100;
constexpr uint8_t kTcp = 6, kUdp = 17;

uint16_t be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

uint32_t sum_bytes(const uint8_t* p, size_t n, uint32_t sum) {
  for (; n >= 2; p += 2, n -= 2) sum += be16(p);
  if (n) sum += static_cast<uint32_t>(p[0] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

bool fill(std::span<uint8_t> l4, uint8_t proto, uint32_t pseudo) {
  size_t field = proto == kTcp ? 16 : 6;
  if (l4.size() < field + 2 || (proto == kTcp && l4.size() < 20) || (proto == kUdp && l4.size() < 8)) return false;
  l4[field] = l4[field + 1] = 0;
  uint16_t c = fold(sum_bytes(l4.data(), l4.size(), pseudo));
  if (proto == kUdp && c == 0) c = 0xffff;  // 0 means "no checksum" for UDP
  l4[field] = static_cast<uint8_t>(c >> 8);
  l4[field + 1] = static_cast<uint8_t>(c);
  return true;
}

}  // namespace

bool complete_checksum(std::span<uint8_t> frame) {
  size_t l3 = 14;
  if (frame.size() < l3) return false;
  uint16_t type = be16(&frame[12]);
  if (type == kEthVlan) {
    if (frame.size() < 18) return false;
    type = be16(&frame[16]);
    l3 = 18;
  }
  std::span<uint8_t> ip = frame.subspan(l3);
  if (type == kEthIpv4) {
    if (ip.size() < 20) return false;
    size_t ihl = (ip[0] & 0xf) * 4u;
    size_t total = be16(&ip[2]);
    if (ihl < 20 || total < ihl || total > ip.size()) return false;
    uint8_t proto = ip[9];
    if (proto != kTcp && proto != kUdp) return false;
    uint32_t pseudo = sum_bytes(&ip[12], 8, 0) + proto + static_cast<uint32_t>(total - ihl);
    return fill(ip.subspan(ihl, total - ihl), proto, pseudo);
  }
  if (type == kEthIpv6) {
    if (ip.size() < 40) return false;
    size_t payload = be16(&ip[4]);
    uint8_t proto = ip[6];  // extension headers are not followed
    if ((proto != kTcp && proto != kUdp) || 40 + payload > ip.size()) return false;
    uint32_t pseudo = sum_bytes(&ip[8], 32, 0) + proto + static_cast<uint32_t>(payload);
    return fill(ip.subspan(40, payload), proto, pseudo);
  }
  return false;
}

}  // namespace atl::hv
