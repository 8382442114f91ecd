// libFuzzer target for netback's transmit path: the guest's tx ring, its
// requests and extra-info chains (TxAssembler), the grant copies that take the
// packet out of guest memory, and the header checks a packet meets before it
// reaches the uplink (GSO, checksum offload, software segmentation).
//
// The ring page and the packet pages are real guest memory behind real grants
// (fuzz_guest.h), so every ref, offset and length goes through GrantTable as
// in atoll. drain() mirrors NetBack::drain_tx and NetBack::send_copied minus
// the domain, the rate limit and the uplink, which need a running hypervisor.
//
// The input is a script; op & 7:
//   0  the guest rewrites a grant entry (fuzz_guest.h)
//   1  the guest writes bytes into a page
//   2  the guest puts requests on the ring: count, then 12 raw bytes each
//   3  the guest sets req_prod to any value
//   4  the guest notifies: netback drains the ring
//   5  the guest sets rsp_event (notification suppression)
// Seeds: gen_net_blk_corpus.py.
#include <cstdlib>
#include <cstring>
#include <vector>

#include "atoll/shared_ring.h"
#include "checksum.h"
#include "frame_headers.h"
#include "fuzz_guest.h"
#include "gso.h"
#include "netif_request.h"

namespace atl::hv {
namespace {

using fuzz::FuzzGuest;
using fuzz::FuzzInput;
using TxRing = SharedRing<netif_tx_request, netif_tx_response>;

// NetBack::kMaxFrame: MTU 1500 with a VLAN tag.
constexpr uint32_t kMaxFrame = 1514 + 4;
constexpr uint32_t kRingRef = FuzzGuest::kFirstRef;

class TxPath {
 public:
  TxPath(GrantTable& gt, TxRing* shared) : m_gt(gt), m_ring(shared) {}

  // NetBack::drain_tx; false when netback would disconnect the vif.
  bool drain() {
    do {
      if (m_ring.overflowed()) return false;
      while (m_ring.unconsumed_requests()) {
        TxAssembler::Step step = m_assembler.add(m_ring.take_request());
        ++m_taken;
        if (step == TxAssembler::Step::kNeedMore) continue;
        const TxPacket& packet = m_assembler.packet();
        if (step == TxAssembler::Step::kError) {
          if (m_assembler.error() == TxCheck::kTooManySlots) return false;
          answer(packet);
        } else {
          transmit(packet);
          answer(packet);
        }
        m_assembler.reset();
      }
    } while (m_ring.final_check_for_requests());
    (void)m_ring.push_responses();
    return true;
  }

  // Every slot taken is answered once its packet is done: never more.
  void check_accounting() const {
    if (m_answered > m_taken) std::abort();
    if (!m_assembler.in_progress() && m_answered != m_taken) std::abort();
  }

 private:
  void answer(const TxPacket& packet) {
    if (packet.nr_slots == 0 || packet.nr_slots > kMaxTxSlots) std::abort();
    for (unsigned i = 0; i < packet.nr_slots; ++i) {
      netif_tx_response rsp{};
      rsp.id = packet.ids[i];
      rsp.status = packet.is_extra[i] ? NETIF_RSP_NULL : NETIF_RSP_OKAY;
      m_ring.put_response(rsp);
    }
    m_answered += packet.nr_slots;
  }

  // NetBack::send_copied and prepare_tx_offload, up to the uplink.
  void transmit(const TxPacket& packet) {
    if (packet.total_size < kMinFrame || packet.total_size > 65535) std::abort();
    if (!packet.gso && packet.total_size > kMaxFrame) std::abort();
    m_frame.resize(packet.total_size);
    size_t at = 0;
    for (unsigned i = 0; i < packet.nr_fragments; ++i) {
      const TxFragment& f = packet.fragments[i];
      uint32_t size = i == 0 ? first_fragment_size(packet) : f.size;
      if (at + size > m_frame.size()) std::abort();  // the assembler let the sizes disagree
      if (m_gt.copy_from(GrantRef(f.gref), DomId(0), f.offset, std::span(m_frame.data() + at, size)) !=
          GrantStatus::kOkay)
        return;
      at += size;
    }
    if (at != m_frame.size()) std::abort();
    FrameHeaders h;
    if (packet.gso) {
      GsoType type = packet.gso->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 ? GsoType::kTcpV4 : GsoType::kTcpV6;
      uint16_t mss = packet.gso->u.gso.size;
      if (check_tcp_gso(m_frame, type, mss, kMaxFrame, h) != GsoCheck::kOk) return;
      seed_pseudo_header(m_frame, h);
      // Segmented in software, as for an uplink without offloads.
      tcp_segment(m_frame, h, mss, [](std::span<const uint8_t> segment) {
        if (segment.size() > kMaxFrame) std::abort();
      });
    } else if (packet.flags & NETTXF_csum_blank) {
      if (auto parsed = parse_frame_headers(m_frame)) fill_l4_checksum(m_frame, *parsed);
    }
  }

  GrantTable& m_gt;
  BackRing<netif_tx_request, netif_tx_response> m_ring;
  TxAssembler m_assembler{kMaxFrame};
  std::vector<uint8_t> m_frame;
  uint64_t m_taken = 0;
  uint64_t m_answered = 0;
};

void run(const uint8_t* data, size_t size) {
  FuzzGuest& guest = FuzzGuest::instance();
  GrantTable& gt = guest.reset();
  // What a frontend sets up before it connects: the ring on page 0, and the
  // other pages granted read-only for packets.
  guest.grant(kRingRef, 0, false);
  for (unsigned n = 1; n < FuzzGuest::kPages; ++n) guest.grant(kRingRef + n, n, true);
  auto map = gt.map(GrantRef(kRingRef), DomId(0), true);
  if (!map.ok()) std::abort();
  auto* shared = reinterpret_cast<TxRing*>(map->page.data());
  TxPath path(gt, shared);
  RingIdx req_prod(0);

  FuzzInput in(data, size);
  bool connected = true;
  while (connected && !in.empty()) {
    switch (in.byte() & 7) {
      case 0: guest.poke_entry(in); break;
      case 1: guest.poke_memory(in); break;
      case 2:
        for (unsigned n = in.byte(); n > 0 && !in.empty(); --n) {
          netif_tx_request req{};
          auto raw = in.take(sizeof req);
          std::memcpy(&req, raw.data(), raw.size());
          std::memcpy(&shared->entry(req_prod.slot(TxRing::kSize)).req, &req, sizeof req);
          ++req_prod;
          shared->header.req_prod = req_prod.value();
        }
        break;
      case 3:
        req_prod = RingIdx(in.u32());
        shared->header.req_prod = req_prod.value();
        break;
      case 4:
        connected = path.drain();
        if (connected) path.check_accounting();
        break;
      case 5: shared->header.rsp_event = in.u32(); break;
      default: break;
    }
  }
  gt.unmap(map->handle);
}

}  // namespace
}  // namespace atl::hv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  atl::hv::run(data, size);
  return 0;
}
