// Internet checksums (RFC 1071) over Ethernet frames: completing the TCP/UDP
// checksum a guest left blank (NETTXF_csum_blank), seeding the field with the
// pseudo-header sum for a checksum another party completes (a TAP with
// VIRTIO_NET_HDR_F_NEEDS_CSUM, a frontend told NETRXF_csum_blank), and
// completing a partial checksum the host kernel handed over.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "frame_headers.h"

namespace atl::hv {

// ones_sum() and pseudo_header_sum() come from atoll/inet_frame.h.

// Writes the pseudo-header sum of `h` into its checksum field.
void seed_pseudo_header(std::span<uint8_t> frame, const FrameHeaders& h);

// Computes the TCP/UDP checksum of `h` from scratch, whatever the field held.
void fill_l4_checksum(std::span<uint8_t> frame, const FrameHeaders& h);

// Fills in the TCP or UDP checksum of an Ethernet frame carrying IPv4 or IPv6
// (parse_frame_headers); false when the frame is not one whose checksum can be
// completed (it is left as it is).
bool complete_checksum(std::span<uint8_t> frame);

// Completes a partial checksum the generic way (Linux's skb_checksum_help):
// the sum from `start` to the end of the frame, field included (it holds the
// pseudo-header sum), stored inverted at start + offset. False, frame
// untouched, when the field is not inside the frame.
bool complete_partial_checksum(std::span<uint8_t> frame, size_t start, size_t offset);

}  // namespace atl::hv
