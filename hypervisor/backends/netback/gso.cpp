// Each segment is the original headers followed by its share of the payload,
// with what differs between segments patched in: the IP length (IPv4 total
// length or IPv6 payload length), the IPv4 id (one more per segment, as Linux
// does) and header checksum, the TCP sequence number, FIN and PSH on the last
// segment only, CWR on the first only, and the TCP checksum computed whole.
#include "gso.h"

#include <cstring>
#include <vector>

#include "checksum.h"

namespace atl::hv {
namespace {

constexpr uint8_t kTcpFin = 0x01, kTcpPsh = 0x08, kTcpCwr = 0x80;

uint32_t load_be32(const uint8_t* p) { return uint32_t{load_be16(p)} << 16 | load_be16(p + 2); }
void store_be32(uint8_t* p, uint32_t v) {
  store_be16(p, v >> 16);
  store_be16(p + 2, v & 0xffff);
}

}  // namespace

const char* to_string(GsoCheck check) {
  switch (check) {
    case GsoCheck::kOk: return "ok";
    case GsoCheck::kNotTcp: return "not a TCP packet";
    case GsoCheck::kWrongFamily: return "GSO type of the other IP version";
    case GsoCheck::kLengthMismatch: return "IP length does not match the frame";
    case GsoCheck::kNoPayload: return "no payload to segment";
    case GsoCheck::kBadSize: return "segment size too small";
    case GsoCheck::kSegmentTooBig: return "segments larger than a frame";
  }
  return "?";
}

GsoCheck check_tcp_gso(std::span<const uint8_t> frame, GsoType type, uint16_t mss, size_t max_segment,
                       FrameHeaders& h) {
  return check_tcp_gso(frame, frame.size(), type, mss, max_segment, h);
}

GsoCheck check_tcp_gso(std::span<const uint8_t> head, size_t frame_size, GsoType type, uint16_t mss,
                       size_t max_segment, FrameHeaders& h) {
  std::optional<FrameHeaders> parsed = inet::parse_frame_headers(head, frame_size);
  if (!parsed || parsed->proto != kIpProtoTcp || type == GsoType::kNone) return GsoCheck::kNotTcp;
  if (gso_type_for(*parsed) != type) return GsoCheck::kWrongFamily;
  // No Ethernet padding after a packet this large: its IP length is the frame's.
  if (parsed->end != frame_size) return GsoCheck::kLengthMismatch;
  if (parsed->payload == parsed->end) return GsoCheck::kNoPayload;
  if (mss < kMinGsoSize) return GsoCheck::kBadSize;
  if (parsed->payload + mss > max_segment) return GsoCheck::kSegmentTooBig;
  h = *parsed;
  return GsoCheck::kOk;
}

size_t tcp_segment(std::span<const uint8_t> frame, const FrameHeaders& h, uint16_t mss, const SegmentSink& emit) {
  const size_t headers = h.payload;
  const size_t total = h.end - h.payload;
  std::vector<uint8_t> seg(headers + mss);
  memcpy(seg.data(), frame.data(), headers);
  uint8_t* ip = seg.data() + h.l3;
  uint8_t* tcp = seg.data() + h.l4;
  const uint16_t ip_id = load_be16(ip + 4);
  const uint32_t seq = load_be32(tcp + 4);
  const uint8_t flags = tcp[13];
  FrameHeaders sh = h;
  size_t count = 0;
  for (size_t at = 0; at < total; at += mss, ++count) {
    size_t chunk = total - at < mss ? total - at : mss;
    bool last = at + chunk == total;
    memcpy(seg.data() + headers, frame.data() + h.payload + at, chunk);
    sh.end = headers + chunk;
    if (h.ip_version == 4) {
      store_be16(ip + 2, static_cast<uint32_t>(sh.end - h.l3));
      store_be16(ip + 4, static_cast<uint16_t>(ip_id + count));
      store_be16(ip + 10, 0);
      store_be16(ip + 10, static_cast<uint16_t>(~ones_sum(std::span(ip, h.l4 - h.l3))));
    } else {
      store_be16(ip + 4, static_cast<uint32_t>(sh.end - h.l4));
    }
    store_be32(tcp + 4, static_cast<uint32_t>(seq + at));
    uint8_t f = flags;
    if (!last) f &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    if (count != 0) f &= static_cast<uint8_t>(~kTcpCwr);
    tcp[13] = f;
    std::span<uint8_t> out(seg.data(), sh.end);
    fill_l4_checksum(out, sh);
    emit(out);
  }
  return count;
}

}  // namespace atl::hv
