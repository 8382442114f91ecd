// Opening the log: superblock selection, formatting a blank device, replay of
// the active region, and cutting a torn tail.
#include <string.h>

#include <algorithm>

#include "aof.h"
#include "timeutil.h"

namespace kv {

using logfmt::kBlock;
using logfmt::kHeaderSize;

// Reads a region through a window of whole blocks, so replaying many small
// records costs one device read per window, not one per record.
class Aof::RegionReader {
 public:
  RegionReader(LogDevice& dev, uint64_t offset, uint64_t size) : m_dev(dev), m_offset(offset), m_size(size) {}

  // [pos, pos + len) of the region, which the caller keeps within it; nullptr
  // on a device error. Valid until the next call.
  const uint8_t* get(uint64_t pos, size_t len) {
    if (pos >= m_start && pos + len <= m_start + m_buf.size()) return m_buf.data() + (pos - m_start);
    uint64_t start = pos / kBlock * kBlock;
    uint64_t end = (pos + len + kBlock - 1) / kBlock * kBlock;
    uint64_t want = std::min(std::max<uint64_t>(end - start, kWindow), m_size - start);
    m_buf.resize(want);
    m_start = start;
    if (!m_dev.read(m_offset + start, m_buf.data(), want)) {
      m_buf.clear();
      return nullptr;
    }
    return m_buf.data() + (pos - start);
  }

  uint64_t size() const { return m_size; }

 private:
  static constexpr uint64_t kWindow = 256 * 1024;
  LogDevice& m_dev;
  uint64_t m_offset;
  uint64_t m_size;
  uint64_t m_start = 0;
  std::vector<uint8_t> m_buf;
};

const char* Aof::describe(Status status) {
  switch (status) {
    case Status::kOk: return "ok";
    case Status::kIoError: return "device I/O error";
    case Status::kNotALog: return "the device holds no kvstore log and is not blank (refusing to format it)";
    case Status::kTooSmall: return "the device is too small for a log (at least 136 KiB)";
    case Status::kTooBig: return "the live data does not fit a log region";
  }
  return "?";
}

const char* fsync_policy_name(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kAlways: return "always";
    case FsyncPolicy::kEverySec: return "everysec";
    case FsyncPolicy::kNo: return "no";
  }
  return "?";
}

Aof::Status Aof::fail(Status s) {
  if (s == Status::kIoError) m_failed = true;
  return s;
}

Aof::Status Aof::open(ReplayTarget& target) {
  auto layout = logfmt::make_layout(m_dev.capacity());
  if (!layout) return Status::kTooSmall;
  alignas(16) uint8_t slots[2][kBlock];
  std::optional<logfmt::Superblock> best;
  bool blank = true;
  for (unsigned i = 0; i < 2; ++i) {
    if (!m_dev.read(logfmt::kSlotOffset[i], slots[i], kBlock)) return fail(Status::kIoError);
    auto sb = logfmt::decode_superblock(slots[i], m_dev.capacity());
    if (sb && (!best || sb->seq > best->seq)) best = sb;
    // A slot with our magic but a bad CRC is a torn write of ours, not foreign data.
    if (!logfmt::all_zero(slots[i], kBlock) && memcmp(slots[i], logfmt::kSuperblockMagic, 8) != 0) blank = false;
  }
  if (!best) {
    if (!blank) return Status::kNotALog;
    m_sb = *layout;
    if (Status s = format(); s != Status::kOk) return s;
  } else {
    m_sb = *best;
  }

  RegionReader reader(m_dev, m_sb.active_offset(), m_sb.region_size);
  uint32_t last_epoch = 0;
  if (Status s = replay(reader, target, last_epoch); s != Status::kOk) return s;
  uint64_t extent = 0;
  if (Status s = torn_extent(reader, m_end, extent); s != Status::kOk) return s;
  if (Status s = cut_tail(reader, extent); s != Status::kOk) return s;

  // A new epoch before the first append: records this boot writes can then be
  // told from stale ones of an earlier boot that sit past the log's end.
  logfmt::Superblock next = m_sb;
  ++next.epoch;
  if (!publish(next)) return fail(Status::kIoError);
  m_report.log_bytes = m_end;
  m_last_flush_ms = monotonic_ms();
  return Status::kOk;
}

Aof::Status Aof::format() {
  // A generation unique to this format, so records of an older log on the
  // same device never match it.
  uint64_t mix = static_cast<uint64_t>(realtime_ms()) * 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(monotonic_ms());
  m_sb.generation = static_cast<uint32_t>(mix >> 32) | 1;
  m_sb.seq = 0;
  m_sb.epoch = 0;
  std::string empty;
  if (!write_padded(0, 0, empty) || !m_dev.flush()) return fail(Status::kIoError);
  if (!publish(m_sb)) return fail(Status::kIoError);
  m_report.formatted = true;
  return Status::kOk;
}

Aof::Status Aof::replay(RegionReader& reader, ReplayTarget& target, uint32_t& last_epoch) {
  ParserLimits limits;
  limits.max_bulk = m_sb.region_size;
  limits.max_args = m_sb.region_size;
  uint64_t pos = 0;
  while (pos + kHeaderSize <= m_sb.region_size) {
    const uint8_t* p = reader.get(pos, kHeaderSize);
    if (!p) return fail(Status::kIoError);
    auto h = logfmt::decode_header(p);
    if (!h || h->generation != m_sb.generation || h->epoch < last_epoch || h->epoch > m_sb.epoch) break;
    if (h->payload_len > m_sb.region_size - pos - kHeaderSize) break;
    p = reader.get(pos + kHeaderSize, h->payload_len);
    if (!p) return fail(Status::kIoError);
    if (!logfmt::payload_ok(*h, p)) break;
    std::string_view payload(reinterpret_cast<const char*>(p), h->payload_len);
    RequestParser parser(limits);
    size_t used = 0;
    if (payload.empty() || payload[0] != '*' || parser.parse(payload, used) != RequestParser::Status::kCommand ||
        used != payload.size())
      break;
    target.apply(parser.args());
    last_epoch = h->epoch;
    pos += kHeaderSize + h->payload_len;
    ++m_report.records;
  }
  m_end = pos;
  return Status::kOk;
}

// How many bytes at `pos` (the end of the valid log) belong to a torn or
// corrupt tail: 0 when the clean-end marker is there; the record's length
// when its header holds; otherwise the run of garbage up to a zero block or
// the next valid header (at most 1 MiB is searched).
Aof::Status Aof::torn_extent(RegionReader& reader, uint64_t pos, uint64_t& extent) {
  extent = 0;
  uint64_t size = m_sb.region_size;
  if (pos + kHeaderSize > size) return Status::kOk;  // the log fills the region
  const uint8_t* p = reader.get(pos, kHeaderSize);
  if (!p) return fail(Status::kIoError);
  if (logfmt::all_zero(p, kHeaderSize)) return Status::kOk;
  if (auto h = logfmt::decode_header(p)) {
    extent = std::min<uint64_t>(kHeaderSize + uint64_t{h->payload_len}, size - pos);
    return Status::kOk;
  }
  uint64_t limit = std::min<uint64_t>(size, pos + (1u << 20));
  uint64_t last_nonzero = pos;
  for (uint64_t q = pos; q < limit; ++q) {
    if (q > pos && q % kBlock == 0) {
      const uint8_t* b = reader.get(q, kBlock);
      if (!b) return fail(Status::kIoError);
      if (logfmt::all_zero(b, kBlock)) break;
    }
    if (q > pos && q + kHeaderSize <= size) {
      const uint8_t* h = reader.get(q, kHeaderSize);
      if (!h) return fail(Status::kIoError);
      if (logfmt::decode_header(h)) break;
    }
    const uint8_t* b = reader.get(q, 1);
    if (!b) return fail(Status::kIoError);
    if (*b != 0) last_nonzero = q;
  }
  extent = last_nonzero + 1 - pos;
  return Status::kOk;
}

// Keeps the log's last partial block in memory for the next append and, when
// a torn tail follows, zeroes it so the next boot finds a clean end.
Aof::Status Aof::cut_tail(RegionReader& reader, uint64_t extent) {
  m_tail = m_end % kBlock;
  const uint8_t* p = m_tail ? reader.get(m_end - m_tail, m_tail) : nullptr;
  if (m_tail && !p) return fail(Status::kIoError);
  m_pending.assign(reinterpret_cast<const char*>(p), m_tail);
  if (extent == 0) return Status::kOk;
  m_report.dropped_bytes = extent;
  m_report.dropped_at = m_sb.active_offset() + m_end;
  uint64_t zero_to = std::min(m_sb.region_size, m_end + extent + kHeaderSize);
  uint64_t first = std::min(zero_to, (m_end / kBlock + 1) * kBlock + 64 * 1024);
  if (!write_pending(first) || !zero_blocks(first, zero_to) || !m_dev.flush()) return fail(Status::kIoError);
  return Status::kOk;
}

}  // namespace kv
