// What netfront adds to atoll/inet_frame.h (the header parser and checksum
// arithmetic it shares with netback): the flow hash that picks a transmit
// queue. Pure, unit-tested on the host (tests/unit/net/).
#pragma once

#include <stdint.h>

#include <span>

namespace atl::net {

// A hash of a frame's addresses and ports, for picking a transmit queue; 0 for
// frames that are not IP (ARP and the like go to queue 0).
uint32_t flow_hash(std::span<const uint8_t> head);

}  // namespace atl::net
