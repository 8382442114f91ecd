// What netfront needs to know about an Ethernet frame it sends: where the IP
// and TCP/UDP headers are (for checksum offload, TSO and the flow hash), and
// the Internet checksum arithmetic to fill in a checksum itself. Pure, so it
// is unit-tested on the host (tests/unit/net/).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <optional>
#include <span>

namespace atl::net {

// Bytes of a frame enough to parse every header below: Ethernet with a VLAN
// tag, IPv4 with options (or IPv6), TCP with options.
constexpr size_t kFrameHeadMax = 18 + 60 + 60;

struct FrameHeaders {
  bool ipv6 = false;
  uint8_t proto = 0;     // 6 TCP, 17 UDP, anything else is not offloaded
  size_t l3 = 0;         // offset of the IP header
  size_t l4 = 0;         // offset of the TCP/UDP header
  size_t l4_header = 0;  // TCP: data offset * 4; UDP: 8
  size_t l4_length = 0;  // the TCP/UDP header and payload, from the IP header
  uint32_t flow = 0;     // a hash of the addresses and ports
  // Offset of the TCP/UDP checksum field.
  size_t checksum_at() const { return l4 + (proto == 6 ? 16 : 6); }
};

// Parses `head` (the first bytes of a frame of `total` bytes). nullopt unless
// the frame is unfragmented TCP or UDP over IPv4 or IPv6 (no extension
// headers) whose lengths agree with `total`.
std::optional<FrameHeaders> parse_frame(std::span<const uint8_t> head, size_t total);

// A hash of a frame's addresses and ports, for picking a transmit queue; 0 for
// frames that are not IP (ARP and the like go to queue 0).
uint32_t flow_hash(std::span<const uint8_t> head);

// The one's-complement sum of RFC 1071 over pieces of any length and alignment.
class InetSum {
 public:
  void add(std::span<const uint8_t> bytes);
  void add_u32(uint32_t host_order_value);
  // The folded sum (not complemented).
  uint16_t folded() const;

 private:
  uint64_t m_sum = 0;
  bool m_odd = false;  // an odd number of bytes so far: the next one is a low byte
};

// The pseudo-header sum of a TCP/UDP packet (folded, not complemented): what
// Linux's CHECKSUM_PARTIAL convention, and so NETTXF_csum_blank, expects in the
// checksum field.
uint16_t pseudo_header_sum(std::span<const uint8_t> head, const FrameHeaders& h);

}  // namespace atl::net
