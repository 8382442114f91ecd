// TCP segmentation in software (the GSO of netif's XEN_NETIF_GSO_TYPE_TCPV4/6
// and virtio's VIRTIO_NET_HDR_GSO_TCPV4/6): a TCP packet larger than the MTU
// becomes segments of at most `mss` payload bytes, each a complete frame with
// its own IP length, IPv4 id and header checksum, sequence number, flags and
// TCP checksum. Used where the other side cannot segment: on transmit to the
// slirp helper or a switch, on receive for a frontend without GSO. Pure and
// unit-tested (test_gso.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "frame_headers.h"
#include "offload.h"

namespace atl::hv {

// The smallest segment size accepted: Linux's floor for a peer's MSS
// (net.ipv4.tcp_min_snd_mss). It also bounds the segments one packet makes.
constexpr uint16_t kMinGsoSize = 48;

enum class GsoCheck {
  kOk,
  kNotTcp,          // not TCP over IPv4/IPv6 as parse_frame_headers reads it
  kWrongFamily,     // the GSO type names the other IP version
  kLengthMismatch,  // the IP length does not end where the frame does
  kNoPayload,       // nothing to segment
  kBadSize,         // a segment size under kMinGsoSize
  kSegmentTooBig,   // headers + one segment over the largest frame allowed
};

const char* to_string(GsoCheck check);

// Checks that `frame` is a TCP packet that may be segmented as `type` into
// frames of at most `max_segment` bytes; fills `h` when it is.
GsoCheck check_tcp_gso(std::span<const uint8_t> frame, GsoType type, uint16_t mss, size_t max_segment,
                       FrameHeaders& h);
// The same from the frame's first bytes (all of it, or at least
// inet::kFrameHeadMax) and its size, for a frame not gathered in one place.
GsoCheck check_tcp_gso(std::span<const uint8_t> head, size_t frame_size, GsoType type, uint16_t mss,
                       size_t max_segment, FrameHeaders& h);

// The GSO type of a TCP packet by its IP version.
inline GsoType gso_type_for(const FrameHeaders& h) { return h.ip_version == 4 ? GsoType::kTcpV4 : GsoType::kTcpV6; }

// Cuts a packet check_tcp_gso accepted into segments, handing each to `emit`
// (the span is valid during the call only). Returns the number of segments.
using SegmentSink = std::function<void(std::span<const uint8_t> segment)>;
size_t tcp_segment(std::span<const uint8_t> frame, const FrameHeaders& h, uint16_t mss, const SegmentSink& emit);

}  // namespace atl::hv
