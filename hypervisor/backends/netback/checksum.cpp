// Checksum completion and seeding over the sums of atoll/inet_frame.h.
#include "checksum.h"

namespace atl::hv {
namespace {

uint16_t finish(uint16_t sum, uint8_t proto) {
  uint16_t c = static_cast<uint16_t>(~sum);
  // 0 means "no checksum" for UDP; 0xffff is the same value in one's complement.
  return proto == kIpProtoUdp && c == 0 ? 0xffff : c;
}

}  // namespace

void seed_pseudo_header(std::span<uint8_t> frame, const FrameHeaders& h) {
  store_be16(&frame[h.l4 + h.csum_offset()], pseudo_header_sum(frame, h, h.l4_length()));
}

void fill_l4_checksum(std::span<uint8_t> frame, const FrameHeaders& h) {
  uint8_t* field = &frame[h.l4 + h.csum_offset()];
  store_be16(field, 0);
  uint16_t sum = ones_sum(frame.subspan(h.l4, h.l4_length()), pseudo_header_sum(frame, h, h.l4_length()));
  store_be16(field, finish(sum, h.proto));
}

bool complete_checksum(std::span<uint8_t> frame) {
  std::optional<FrameHeaders> h = parse_frame_headers(frame);
  if (!h) return false;
  fill_l4_checksum(frame, *h);
  return true;
}

bool complete_partial_checksum(std::span<uint8_t> frame, size_t start, size_t offset) {
  if (start >= frame.size() || offset > frame.size() - start || frame.size() - start - offset < 2) return false;
  uint16_t sum = ones_sum(frame.subspan(start));
  // Mapping 0 to 0xffff is right for UDP and harmless for anything summed this way.
  store_be16(&frame[start + offset], finish(sum, kIpProtoUdp));
  return true;
}

}  // namespace atl::hv
