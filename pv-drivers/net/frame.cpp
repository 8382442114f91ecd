// netfront's flow hash (frame.h).
#include "frame.h"

#include "atoll/inet_frame.h"

namespace atl::net {
namespace {

using inet::kEthIpv4;
using inet::kEthIpv6;
using inet::kEthVlan;
constexpr uint8_t kTcp = inet::kIpProtoTcp, kUdp = inet::kIpProtoUdp;
uint16_t be16(const uint8_t* p) { return inet::load_be16(p); }

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

}  // namespace atl::net
