// The receive side's decisions, pure so they are unit-tested on their own
// (test_rx_packet.cpp): what a frame from the uplink becomes for a given
// frontend (prepare_rx_packets), and how one packet is laid out on the rx ring
// (put_rx_packet): one posted page per 4 KiB, NETRXF_more_data on every slot
// but the last, the GSO extra-info slot after the first, as Linux's netback.
#pragma once

#include <xen/io/netif.h>

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "atoll/shared_ring.h"
#include "offload.h"

namespace atl::hv {

using NetifRxSharedRing = SharedRing<netif_rx_request, netif_rx_response>;
using NetifRxBackRing = BackRing<netif_rx_request, netif_rx_response>;

// What the frontend said it takes on its rx ring (its feature-* keys). A
// frontend that wrote none of them gets single-slot frames with complete
// checksums, as before any offload existed here.
struct FrontendFeatures {
  bool sg = false;
  bool gso_tcpv4 = false, gso_tcpv6 = false;
  bool csum_blank = false;  // wrote feature-no-csum-offload=0: IPv4 checksums may be left blank
  bool ipv6_csum_blank = false;  // and feature-ipv6-csum-offload=1: IPv6 ones too
};

// A packet for the guest's rx ring, as it will be delivered.
struct RxPacket {
  std::vector<uint8_t> data;
  bool csum_blank = false;  // NETRXF_csum_blank: the field holds the pseudo-header sum
  GsoType gso = GsoType::kNone;
  uint16_t gso_size = 0;
};

// The largest packet a frontend without feature-sg takes: one page.
constexpr size_t kRxPage = 4096;

// Turns a frame from the uplink into what `fe` takes, handing each packet to
// `sink`: as it is (with its blank checksum or GSO), its checksum completed,
// or segmented. False when the frame is dropped (malformed, or too big for a
// frontend without scatter-gather).
bool prepare_rx_packets(std::vector<uint8_t> frame, const FrameOffload& offload, const FrontendFeatures& fe,
                        const std::function<void(RxPacket)>& sink);

// Copies `data` into the page granted by `gref`; false when the grant is refused.
using RxCopy = std::function<bool(uint32_t gref, std::span<const uint8_t> data)>;

enum class RxPut {
  kDelivered,
  kCopyFailed,  // on the ring, with NETIF_RSP_ERROR in the slots whose copy failed
  kNoRoom,      // fewer requests posted than it needs: nothing taken, notification asked
};

// Responses are put, not pushed (the caller pushes and notifies once per batch).
RxPut put_rx_packet(NetifRxBackRing& ring, NetifRxSharedRing& shared, const RxPacket& packet, const RxCopy& copy);

}  // namespace atl::hv
