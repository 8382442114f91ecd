// netback's view of frame headers: the parser and checksum arithmetic shared
// with netfront (atoll/inet_frame.h), under the names netback uses.
#pragma once

#include <optional>
#include <span>

#include "atoll/inet_frame.h"

namespace atl::hv {

using inet::FrameHeaders;
using inet::kEthIpv4;
using inet::kEthIpv6;
using inet::kEthVlan;
using inet::kIpProtoTcp;
using inet::kIpProtoUdp;
using inet::load_be16;
using inet::ones_sum;
using inet::pseudo_header_sum;
using inet::store_be16;

// The headers of a whole frame (inet::parse_frame_headers).
inline std::optional<FrameHeaders> parse_frame_headers(std::span<const uint8_t> frame) {
  return inet::parse_frame_headers(frame, frame.size());
}

}  // namespace atl::hv
