// What travels with a frame besides its bytes when the uplink can carry it (a
// TAP opened with a virtio-net header): the checksum still to be completed and
// the TCP segmentation still to be done. The same facts netif carries in
// NETTXF_csum_blank / NETRXF_csum_blank and the GSO extra-info slot.
#pragma once

#include <cstdint>

namespace atl::hv {

enum class GsoType : uint8_t { kNone, kTcpV4, kTcpV6 };

struct FrameOffload {
  // The checksum at csum_start + csum_offset holds only the pseudo-header sum;
  // the sum from csum_start to the end of the frame is still to be done.
  bool partial_csum = false;
  uint16_t csum_start = 0;
  uint16_t csum_offset = 0;
  // A TCP packet larger than the MTU, to be cut into segments of gso_size
  // payload bytes after hdr_len bytes of Ethernet, IP and TCP headers.
  GsoType gso = GsoType::kNone;
  uint16_t gso_size = 0;
  uint16_t hdr_len = 0;
  // The first segment carries CWR (only the first may: VIRTIO_NET_HDR_GSO_ECN).
  bool gso_ecn = false;

  bool none() const { return !partial_csum && gso == GsoType::kNone; }
};

}  // namespace atl::hv
