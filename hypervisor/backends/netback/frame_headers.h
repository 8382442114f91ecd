// Where the IP and TCP/UDP headers of an Ethernet frame are: the one parser
// behind checksum completion, checksum offload and segmentation, so they all
// agree on what a frame they may touch looks like. Pure, unit-tested through
// its users (test_checksum.cpp, test_gso.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace atl::hv {

constexpr uint16_t kEthIpv4 = 0x0800, kEthIpv6 = 0x86dd, kEthVlan = 0x8100;
constexpr uint8_t kIpProtoTcp = 6, kIpProtoUdp = 17;

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
// checked) or UDP header inside the IP length. nullopt for anything else.
std::optional<FrameHeaders> parse_frame_headers(std::span<const uint8_t> frame);

}  // namespace atl::hv
