#include "blkback_request.h"

#include <cstring>

namespace atl::hv {

const char* to_string(RequestCheck check) {
  switch (check) {
    case RequestCheck::kOk: return "ok";
    case RequestCheck::kUnsupportedOp: return "unsupported operation";
    case RequestCheck::kReadOnly: return "write or discard on a read-only disk";
    case RequestCheck::kEmptyDiscard: return "discard of no sectors";
    case RequestCheck::kBadSegmentCount: return "bad segment count";
    case RequestCheck::kBadSegmentSectors: return "bad segment sectors";
    case RequestCheck::kOutOfRange: return "sectors out of range";
  }
  return "?";
}

blkif_request_discard as_discard(const blkif_request& req) {
  blkif_request_discard d;
  memcpy(&d, &req, sizeof d);
  return d;
}

uint64_t request_sectors(const blkif_request& req) {
  if (req.operation == BLKIF_OP_DISCARD) return as_discard(req).nr_sectors;
  uint64_t n = 0;
  for (unsigned i = 0; i < req.nr_segments && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; ++i)
    n += req.seg[i].last_sect - req.seg[i].first_sect + 1u;
  return n;
}

namespace {

RequestCheck in_range(uint64_t sector, uint64_t sectors, const DiskGeometry& disk) {
  if (sector > disk.sectors || sectors > disk.sectors - sector) return RequestCheck::kOutOfRange;
  return RequestCheck::kOk;
}

}  // namespace

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
    case BLKIF_OP_DISCARD:
      // No segments: nr_segments is the discard's flag, which the spec says
      // to ignore when discard-secure is 0 (as we advertise).
      if (disk.read_only) return RequestCheck::kReadOnly;
      if (as_discard(req).nr_sectors == 0) return RequestCheck::kEmptyDiscard;
      return in_range(req.sector_number, request_sectors(req), disk);
    default:
      return RequestCheck::kUnsupportedOp;
  }
  if (req.nr_segments == 0 || req.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return RequestCheck::kBadSegmentCount;
  for (unsigned i = 0; i < req.nr_segments; ++i) {
    const auto& s = req.seg[i];
    if (s.first_sect > s.last_sect || s.last_sect > kLastSectInPage) return RequestCheck::kBadSegmentSectors;
  }
  return in_range(req.sector_number, request_sectors(req), disk);
}

}  // namespace atl::hv
