#include "frame_headers.h"

namespace atl::hv {
namespace {

constexpr size_t kEthHeader = 14, kVlanTag = 4, kIpv4Header = 20, kIpv6Header = 40;
constexpr size_t kTcpHeader = 20, kUdpHeader = 8;

// The IP layer: fills l3, l4, end, ip_version and proto.
bool parse_ip(std::span<const uint8_t> frame, uint16_t type, FrameHeaders& h) {
  std::span<const uint8_t> ip = frame.subspan(h.l3);
  if (type == kEthIpv4) {
    if (ip.size() < kIpv4Header || ip[0] >> 4 != 4) return false;
    size_t ihl = (ip[0] & 0xf) * 4u;
    size_t total = load_be16(&ip[2]);
    if (ihl < kIpv4Header || total < ihl || total > ip.size()) return false;
    // A fragment's checksum covers the whole datagram: no part of it can be done here.
    if ((load_be16(&ip[6]) & 0x3fff) != 0) return false;
    h.ip_version = 4;
    h.proto = ip[9];
    h.l4 = h.l3 + ihl;
    h.end = h.l3 + total;
    return true;
  }
  if (type == kEthIpv6) {
    if (ip.size() < kIpv6Header || ip[0] >> 4 != 6) return false;
    size_t payload = load_be16(&ip[4]);
    if (kIpv6Header + payload > ip.size()) return false;
    h.ip_version = 6;
    h.proto = ip[6];  // extension headers are not followed
    h.l4 = h.l3 + kIpv6Header;
    h.end = h.l4 + payload;
    return true;
  }
  return false;
}

}  // namespace

std::optional<FrameHeaders> parse_frame_headers(std::span<const uint8_t> frame) {
  FrameHeaders h;
  h.l3 = kEthHeader;
  if (frame.size() < kEthHeader) return std::nullopt;
  uint16_t type = load_be16(&frame[12]);
  if (type == kEthVlan) {
    if (frame.size() < kEthHeader + kVlanTag) return std::nullopt;
    type = load_be16(&frame[16]);
    h.l3 += kVlanTag;
  }
  if (!parse_ip(frame, type, h)) return std::nullopt;
  size_t l4_length = h.end - h.l4;
  if (h.proto == kIpProtoTcp) {
    if (l4_length < kTcpHeader) return std::nullopt;
    size_t data_offset = (frame[h.l4 + 12] >> 4) * 4u;
    if (data_offset < kTcpHeader || data_offset > l4_length) return std::nullopt;
    h.payload = h.l4 + data_offset;
  } else if (h.proto == kIpProtoUdp) {
    if (l4_length < kUdpHeader) return std::nullopt;
    h.payload = h.l4 + kUdpHeader;
  } else {
    return std::nullopt;
  }
  return h;
}

}  // namespace atl::hv
