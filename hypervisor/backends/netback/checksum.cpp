// The checksum is summed in the host's (little-endian) byte order and swapped
// at the end: one's complement addition commutes with byte swapping (RFC 1071,
// "Byte Order Independence"), so whole 64-bit words can be added as they lie.
#include "checksum.h"

#include <bit>
#include <cstring>

namespace atl::hv {
namespace {

static_assert(std::endian::native == std::endian::little, "ones_sum reads words in little-endian order");

uint64_t load64(const uint8_t* p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

// Each 64-bit word is added as two 32-bit halves into a 64-bit accumulator:
// no carry is lost below 2^32 words, far past any frame.
uint64_t add_words(uint64_t acc, uint64_t w) { return acc + (w & 0xffffffffu) + (w >> 32); }

uint16_t fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

uint16_t finish(uint16_t sum, uint8_t proto) {
  uint16_t c = static_cast<uint16_t>(~sum);
  // 0 means "no checksum" for UDP; 0xffff is the same value in one's complement.
  return proto == kIpProtoUdp && c == 0 ? 0xffff : c;
}

}  // namespace

uint16_t ones_sum(std::span<const uint8_t> bytes, uint32_t seed) {
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
  uint64_t a = 0, b = 0;
  for (; n >= 32; p += 32, n -= 32) {
    a = add_words(a, load64(p));
    b = add_words(b, load64(p + 8));
    a = add_words(a, load64(p + 16));
    b = add_words(b, load64(p + 24));
  }
  for (; n >= 8; p += 8, n -= 8) a = add_words(a, load64(p));
  for (; n >= 2; p += 2, n -= 2) b += static_cast<uint64_t>(p[0] | p[1] << 8);
  // A lone last byte is the high half of a big-endian word: the low half of ours.
  if (n) a += p[0];
  uint16_t native = fold(a + b);
  uint16_t be = static_cast<uint16_t>(native << 8 | native >> 8);
  return fold(uint64_t{be} + seed);
}

uint16_t pseudo_header_sum(std::span<const uint8_t> frame, const FrameHeaders& h, size_t l4_length) {
  // IPv4: source and destination at 12..20; IPv6: at 8..40.
  std::span<const uint8_t> addresses =
      h.ip_version == 4 ? frame.subspan(h.l3 + 12, 8) : frame.subspan(h.l3 + 8, 32);
  // The length is 16 bits in IPv4's pseudo-header and 32 in IPv6's; both sum the same.
  return ones_sum(addresses, static_cast<uint32_t>(h.proto) + (l4_length & 0xffff) + (l4_length >> 16));
}

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
