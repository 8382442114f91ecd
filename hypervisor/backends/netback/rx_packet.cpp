#include "rx_packet.h"

#include <cstring>
#include <optional>

#include "checksum.h"
#include "frame_port.h"
#include "gso.h"

namespace atl::hv {
namespace {

bool blank_csum_ok(const FrontendFeatures& fe, const FrameHeaders& h) {
  return fe.csum_blank && (h.ip_version == 4 || fe.ipv6_csum_blank);
}

// Whether a packet needing `needed` slots fits the requests posted; if not,
// asks to be notified of the next one (Linux's xenvif_rx_ring_slots_available).
bool slots_posted(NetifRxBackRing& ring, NetifRxSharedRing& shared, uint32_t needed) {
  if (ring.unconsumed_requests() >= needed) return true;
  uint32_t prod;
  do {
    prod = __atomic_load_n(&shared.header.req_prod, __ATOMIC_ACQUIRE);
    // ORDERING: req_event is published before req_prod is read again, so a
    // frontend that posts after that read sees the new event and notifies.
    __atomic_store_n(&shared.header.req_event, prod + 1, __ATOMIC_RELAXED);
    ring_detail::full_barrier();
  } while (__atomic_load_n(&shared.header.req_prod, __ATOMIC_ACQUIRE) != prod);
  return ring.unconsumed_requests() >= needed;
}

}  // namespace

bool prepare_rx_packets(std::vector<uint8_t> frame, const FrameOffload& offload, const FrontendFeatures& fe,
                        const std::function<void(RxPacket)>& sink) {
  size_t largest = fe.sg ? FramePort::kMaxFrame : kRxPage;
  if (offload.gso != GsoType::kNone) {
    FrameHeaders h;
    if (check_tcp_gso(frame, offload.gso, offload.gso_size, largest, h) != GsoCheck::kOk) return false;
    bool gso_ok = fe.sg && (offload.gso == GsoType::kTcpV4 ? fe.gso_tcpv4 : fe.gso_tcpv6);
    if (gso_ok && blank_csum_ok(fe, h)) {
      seed_pseudo_header(frame, h);
      sink(RxPacket{std::move(frame), true, offload.gso, offload.gso_size});
      return true;
    }
    tcp_segment(frame, h, offload.gso_size,
                [&](std::span<const uint8_t> segment) { sink(RxPacket{{segment.begin(), segment.end()}}); });
    return true;
  }
  if (frame.size() > largest) return false;
  if (!offload.partial_csum) {
    sink(RxPacket{std::move(frame)});
    return true;
  }
  std::optional<FrameHeaders> h = parse_frame_headers(frame);
  if (h && h->l4 == offload.csum_start && h->csum_offset() == offload.csum_offset) {
    bool blank = blank_csum_ok(fe, *h);
    // Seeded here whoever wrote the field: the frontend relies on it.
    if (blank)
      seed_pseudo_header(frame, *h);
    else
      fill_l4_checksum(frame, *h);
    sink(RxPacket{std::move(frame), blank});
    return true;
  }
  // Some other checksum the kernel left partial: done the generic way.
  if (!complete_partial_checksum(frame, offload.csum_start, offload.csum_offset)) return false;
  sink(RxPacket{std::move(frame)});
  return true;
}

RxPut put_rx_packet(NetifRxBackRing& ring, NetifRxSharedRing& shared, const RxPacket& packet, const RxCopy& copy) {
  const size_t size = packet.data.size();
  const bool gso = packet.gso != GsoType::kNone;
  const uint32_t data_slots = static_cast<uint32_t>((size + kRxPage - 1) / kRxPage);
  // Never half a packet: it waits until every slot it needs is posted.
  if (!slots_posted(ring, shared, data_slots + (gso ? 1 : 0))) return RxPut::kNoRoom;
  bool failed = false;
  size_t at = 0;
  for (uint32_t slot = 0; slot < data_slots; ++slot) {
    netif_rx_request req = ring.take_request();
    size_t chunk = size - at < kRxPage ? size - at : kRxPage;
    bool copied = copy(req.gref, std::span<const uint8_t>(packet.data.data() + at, chunk));
    at += chunk;
    netif_rx_response rsp{};
    rsp.id = req.id;
    rsp.offset = 0;
    rsp.status = copied ? static_cast<int16_t>(chunk) : static_cast<int16_t>(NETIF_RSP_ERROR);
    failed |= !copied;
    if (slot == 0) {
      // Every source computes full checksums or leaves them blank with the
      // pseudo-header sum (slirp, the host kernel, our own tx path), so the
      // guest need not check them again.
      rsp.flags = NETRXF_data_validated;
      if (packet.csum_blank) rsp.flags |= NETRXF_csum_blank;
      if (gso) rsp.flags |= NETRXF_extra_info;
    }
    if (at < size) rsp.flags |= NETRXF_more_data;
    ring.put_response(rsp);
    if (slot == 0 && gso) {
      // ABI: xen/io/netif.h, "rx extra info": the GSO extra overlays the next
      // response slot and uses up a request (whose buffer is not written).
      (void)ring.take_request();
      netif_extra_info extra{};
      extra.type = XEN_NETIF_EXTRA_TYPE_GSO;
      extra.u.gso.size = packet.gso_size;
      extra.u.gso.type = packet.gso == GsoType::kTcpV4 ? XEN_NETIF_GSO_TYPE_TCPV4 : XEN_NETIF_GSO_TYPE_TCPV6;
      netif_rx_response overlay{};
      static_assert(sizeof extra <= sizeof overlay);
      memcpy(&overlay, &extra, sizeof extra);
      ring.put_response(overlay);
    }
  }
  return failed ? RxPut::kCopyFailed : RxPut::kDelivered;
}

}  // namespace atl::hv
