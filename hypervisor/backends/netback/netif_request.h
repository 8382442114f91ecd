// Assembles the guest's transmit requests (xen/io/netif.h, "Guest transmit")
// into packets and checks them before netback copies a byte: the first request
// carries the packet's total size, optional extra-info slots follow it, and
// NETTXF_more_data chains further fragments. Pure, so the validation matrix is
// unit-tested on its own.
#pragma once

#include <xen/io/netif.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace atl::hv {

// ABI: xen/io/netif.h; every slot of the tx ring is 12 bytes, and an extra-info
// slot overlays a request.
static_assert(sizeof(netif_tx_request) == 12);
static_assert(sizeof(netif_tx_response) == 4);
static_assert(sizeof(netif_rx_request) == 8);
static_assert(sizeof(netif_rx_response) == 8);
static_assert(sizeof(netif_extra_info) <= sizeof(netif_tx_request));
static_assert(sizeof(netif_extra_info) <= sizeof(netif_rx_response));

// Slots one packet may take: Linux netback's default and the least a backend
// must accept (XEN_NETIF_NR_SLOTS_MIN).
constexpr unsigned kMaxTxSlots = XEN_NETIF_NR_SLOTS_MIN;
constexpr unsigned kPageSize = 4096;
// An Ethernet header; nothing shorter is a frame.
constexpr uint32_t kMinFrame = 14;

enum class TxCheck {
  kOk,
  kTooManySlots,      // more than kMaxTxSlots fragments and extras
  kFragmentCrossesPage,  // offset + size past the end of the granted page
  kBadTotalSize,      // shorter than a frame, or the fragments add up to more
  kEmptyFragment,     // a fragment after the first with size 0
  kBadExtra,          // an extra-info slot of unknown or repeated type, a bad GSO type or size
  kTooBig,            // larger than a frame without a GSO extra
};

const char* to_string(TxCheck check);

struct TxFragment {
  uint32_t gref;
  uint16_t offset;
  uint16_t size;
};

// One packet's worth of requests, in ring order.
struct TxPacket {
  std::array<TxFragment, kMaxTxSlots> fragments{};
  unsigned nr_fragments = 0;
  // Request ids to answer, one per slot (extras included), in ring order.
  std::array<uint16_t, kMaxTxSlots> ids{};
  std::array<bool, kMaxTxSlots> is_extra{};
  unsigned nr_slots = 0;
  uint16_t flags = 0;      // the first request's NETTXF_*
  uint32_t total_size = 0;
  std::optional<netif_extra_info> gso;
};

// Feeds requests one at a time: add() says whether the packet is complete.
class TxAssembler {
 public:
  enum class Step { kNeedMore, kDone, kError };

  // `max_packet` bounds packets without a GSO extra; with one, only the 16-bit
  // size field does (65535 bytes, as in Linux's netback).
  explicit TxAssembler(uint32_t max_packet) : m_max_packet(max_packet) {}

  Step add(const netif_tx_request& req);
  // Valid after add() said kDone (the packet) or kError (the slots to answer).
  const TxPacket& packet() const { return m_packet; }
  TxCheck error() const { return m_error; }
  // Whether a packet is partly assembled (its slots not answered yet).
  bool in_progress() const { return m_packet.nr_slots != 0; }
  void reset();

 private:
  Step fail(TxCheck why);
  Step finish();

  uint32_t m_max_packet;
  TxPacket m_packet;
  TxCheck m_error = TxCheck::kOk;
  bool m_expect_extra = false;
  bool m_more_data = false;
  // After a violation the rest of the packet's slots are swallowed and answered
  // with errors, so the ring stays in step.
  bool m_failed = false;
};

// The first fragment's own size: the total minus what the others carry
// (netif.h's "NOTE" on tx). Only meaningful for a kDone packet.
uint32_t first_fragment_size(const TxPacket& packet);

}  // namespace atl::hv
