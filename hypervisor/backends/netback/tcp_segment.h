// The TCP segments the hypervisor's own port forwards (tcp_splice.h) trade
// with a guest, as Ethernet frames: parsed from what the guest sends, built
// for what it receives. Pure, and unit-tested (tests/unit/test_tcp_segment.cpp).
//
// Only what those forwards need: untagged IPv4, TCP, the MSS and
// window-scale options on a SYN. Everything else is not ours to parse and is
// left to the uplink behind (libslirp).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "offload.h"

namespace atl::hv {

constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10;

using MacAddress = std::array<uint8_t, 6>;

// Addresses in host byte order.
struct TcpEndpoints {
  MacAddress src_mac{}, dst_mac{};
  uint32_t src_addr = 0, dst_addr = 0;
  uint16_t src_port = 0, dst_port = 0;
};

struct TcpHeader {
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t window = 0;  // as on the wire (unscaled)
  // Options, on a SYN only.
  std::optional<uint16_t> mss;
  std::optional<uint8_t> window_scale;
};

struct TcpSegment {
  TcpEndpoints ends;
  TcpHeader tcp;
  std::span<const uint8_t> payload;  // inside the frame it was parsed from
};

// nullopt unless `frame` is an untagged IPv4 TCP packet, not a fragment,
// whose IP and TCP lengths agree with each other and with the frame
// (Ethernet padding after the IP packet is allowed).
std::optional<TcpSegment> parse_tcp_segment(std::span<const uint8_t> frame);

// The largest payload build_tcp_frame() puts in one frame: whole segments of
// `mss` in a 64 KiB IP packet.
uint32_t max_frame_payload(uint16_t mss);

// Builds the frame for `ends`/`tcp` carrying `payload` into `out`. The IPv4
// header checksum is complete; the TCP checksum is left to whoever receives
// the frame (the returned offload says partial), and a payload longer than
// `mss` makes a GSO packet of `mss`-sized segments. `ip_id` is the IPv4
// identification.
FrameOffload build_tcp_frame(const TcpEndpoints& ends, const TcpHeader& tcp, std::span<const uint8_t> payload,
                             uint16_t mss, uint16_t ip_id, std::vector<uint8_t>& out);

// Sequence-number comparisons modulo 2^32 (RFC 793's arithmetic).
inline bool seq_lt(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) < 0; }
inline bool seq_le(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b) <= 0; }

}  // namespace atl::hv
