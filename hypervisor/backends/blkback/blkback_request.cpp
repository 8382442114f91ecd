#include "blkback_request.h"

namespace atl::hv {

const char* to_string(RequestCheck check) {
  switch (check) {
    case RequestCheck::kOk: return "ok";
    case RequestCheck::kUnsupportedOp: return "unsupported operation";
    case RequestCheck::kReadOnly: return "write to a read-only disk";
    case RequestCheck::kBadSegmentCount: return "bad segment count";
    case RequestCheck::kBadSegmentSectors: return "bad segment sectors";
    case RequestCheck::kOutOfRange: return "sectors out of range";
  }
  return "?";
}

uint64_t request_sectors(const blkif_request& req) {
  uint64_t n = 0;
  for (unsigned i = 0; i < req.nr_segments && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; ++i)
    n += req.seg[i].last_sect - req.seg[i].first_sect + 1u;
  return n;
}

RequestCheck check_request(const blkif_request& req, const DiskGeometry& disk) {
  constexpr unsigned kLastSectInPage = 4096 / 512 - 1;
  switch (req.operation) {
    case BLKIF_OP_READ:
      break;
    case BLKIF_OP_WRITE:
      if (disk.read_only) return RequestCheck::kReadOnly;
      break;
    case BLKIF_OP_FLUSH_DISKCACHE:
      // A flush with data (Linux's REQ_FUA style) is not supported yet.
      return req.nr_segments == 0 ? RequestCheck::kOk : RequestCheck::kBadSegmentCount;
    default:
      return RequestCheck::kUnsupportedOp;
  }
  if (req.nr_segments == 0 || req.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return RequestCheck::kBadSegmentCount;
  for (unsigned i = 0; i < req.nr_segments; ++i) {
    const auto& s = req.seg[i];
    if (s.first_sect > s.last_sect || s.last_sect > kLastSectInPage) return RequestCheck::kBadSegmentSectors;
  }
  uint64_t n = request_sectors(req);
  if (req.sector_number > disk.sectors || n > disk.sectors - req.sector_number) return RequestCheck::kOutOfRange;
  return RequestCheck::kOk;
}

}  // namespace atl::hv
