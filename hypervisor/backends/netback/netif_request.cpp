#include "netif_request.h"

#include "gso.h"

namespace atl::hv {

const char* to_string(TxCheck check) {
  switch (check) {
    case TxCheck::kOk: return "ok";
    case TxCheck::kTooManySlots: return "more slots than a packet may take";
    case TxCheck::kFragmentCrossesPage: return "fragment crosses its page";
    case TxCheck::kBadTotalSize: return "bad packet size";
    case TxCheck::kEmptyFragment: return "empty fragment";
    case TxCheck::kBadExtra: return "bad extra-info slot";
    case TxCheck::kTooBig: return "packet larger than the vif accepts";
  }
  return "?";
}

void TxAssembler::reset() {
  m_packet = TxPacket{};
  m_error = TxCheck::kOk;
  m_expect_extra = false;
  m_more_data = false;
  m_failed = false;
}

TxAssembler::Step TxAssembler::fail(TxCheck why) {
  if (!m_failed) m_error = why;
  m_failed = true;
  // Keep swallowing while the guest says more slots follow.
  return (m_expect_extra || m_more_data) ? Step::kNeedMore : Step::kError;
}

TxAssembler::Step TxAssembler::add(const netif_tx_request& req) {
  if (m_packet.nr_slots == kMaxTxSlots) {
    // The packet cannot be answered slot by slot any longer: treat this slot as
    // the start of the next one after reporting the error.
    m_failed = true;
    m_error = TxCheck::kTooManySlots;
    m_expect_extra = m_more_data = false;
    return Step::kError;
  }
  unsigned slot = m_packet.nr_slots++;
  m_packet.ids[slot] = req.id;
  if (m_expect_extra) {
    // ABI: xen/io/netif.h, struct netif_extra_info overlays the request slot.
    netif_extra_info extra;
    static_assert(sizeof extra <= sizeof req);
    __builtin_memcpy(&extra, &req, sizeof extra);
    m_packet.is_extra[slot] = true;
    m_expect_extra = (extra.flags & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
    if (m_failed) return fail(m_error);
    if (extra.type == XEN_NETIF_EXTRA_TYPE_GSO) {
      if (m_packet.gso) return fail(TxCheck::kBadExtra);
      if (extra.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 && extra.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6)
        return fail(TxCheck::kBadExtra);
      // The headers are checked once the packet is copied out (check_tcp_gso).
      if (extra.u.gso.size < kMinGsoSize) return fail(TxCheck::kBadExtra);
      m_packet.gso = extra;
    } else if (extra.type != XEN_NETIF_EXTRA_TYPE_MCAST_ADD && extra.type != XEN_NETIF_EXTRA_TYPE_MCAST_DEL &&
               extra.type != XEN_NETIF_EXTRA_TYPE_HASH) {
      return fail(TxCheck::kBadExtra);
    }
    return (m_expect_extra || m_more_data) ? Step::kNeedMore : finish();
  }
  bool first = m_packet.nr_fragments == 0 && slot == 0;
  m_more_data = (req.flags & NETTXF_more_data) != 0;
  if (first) {
    m_packet.flags = req.flags;
    m_packet.total_size = req.size;
    m_expect_extra = (req.flags & NETTXF_extra_info) != 0;
  }
  if (m_failed) return fail(m_error);
  if (static_cast<uint32_t>(req.offset) + req.size > kPageSize && (!first || req.offset >= kPageSize))
    return fail(TxCheck::kFragmentCrossesPage);
  if (!first && req.size == 0) return fail(TxCheck::kEmptyFragment);
  m_packet.fragments[m_packet.nr_fragments++] = TxFragment{req.gref, req.offset, req.size};
  return (m_expect_extra || m_more_data) ? Step::kNeedMore : finish();
}

TxAssembler::Step TxAssembler::finish() {
  const TxPacket& p = m_packet;
  if (p.total_size < kMinFrame) return fail(TxCheck::kBadTotalSize);
  uint32_t rest = 0;
  for (unsigned i = 1; i < p.nr_fragments; ++i) rest += p.fragments[i].size;
  if (rest >= p.total_size) return fail(TxCheck::kBadTotalSize);
  uint32_t first = p.total_size - rest;
  // The first fragment's request says the total; its own share must fit its page.
  if (first + p.fragments[0].offset > kPageSize) return fail(TxCheck::kFragmentCrossesPage);
  if (!p.gso && p.total_size > m_max_packet) return fail(TxCheck::kTooBig);
  return Step::kDone;
}

uint32_t first_fragment_size(const TxPacket& packet) {
  uint32_t rest = 0;
  for (unsigned i = 1; i < packet.nr_fragments; ++i) rest += packet.fragments[i].size;
  return packet.total_size - rest;
}

}  // namespace atl::hv
