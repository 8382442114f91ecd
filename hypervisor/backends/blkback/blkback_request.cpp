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
    case RequestCheck::kBadIndirectOp: return "indirect request wrapping neither read nor write";
  }
  return "?";
}

blkif_request_discard as_discard(const blkif_request& req) {
  blkif_request_discard d;
  memcpy(&d, &req, sizeof d);
  return d;
}

blkif_request_indirect as_indirect(const blkif_request& req) {
  blkif_request_indirect d;
  memcpy(&d, &req, sizeof d);
  return d;
}

uint8_t data_operation(const blkif_request& req) {
  return req.operation == BLKIF_OP_INDIRECT ? as_indirect(req).indirect_op : req.operation;
}

uint64_t segment_sectors(std::span<const blkif_request_segment> segs) {
  uint64_t n = 0;
  for (const auto& s : segs) n += s.last_sect - s.first_sect + 1u;
  return n;
}

uint64_t request_sectors(const blkif_request& req) {
  if (req.operation == BLKIF_OP_DISCARD) return as_discard(req).nr_sectors;
  if (req.operation == BLKIF_OP_INDIRECT) return 0;
  unsigned n = req.nr_segments < BLKIF_MAX_SEGMENTS_PER_REQUEST ? req.nr_segments : BLKIF_MAX_SEGMENTS_PER_REQUEST;
  return segment_sectors({req.seg, n});
}

namespace {

RequestCheck in_range(uint64_t sector, uint64_t sectors, const DiskGeometry& disk) {
  if (sector > disk.sectors || sectors > disk.sectors - sector) return RequestCheck::kOutOfRange;
  return RequestCheck::kOk;
}

RequestCheck check_indirect(const blkif_request& req, const DiskGeometry& disk, const RequestLimits& limits) {
  if (limits.max_indirect_segments == 0) return RequestCheck::kUnsupportedOp;
  blkif_request_indirect ind = as_indirect(req);
  if (ind.indirect_op != BLKIF_OP_READ && ind.indirect_op != BLKIF_OP_WRITE) return RequestCheck::kBadIndirectOp;
  if (ind.indirect_op == BLKIF_OP_WRITE && disk.read_only) return RequestCheck::kReadOnly;
  if (ind.nr_segments == 0 || ind.nr_segments > limits.max_indirect_segments ||
      indirect_pages(ind.nr_segments) > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST)
    return RequestCheck::kBadSegmentCount;
  // The segments are in the indirect pages: check_segments() once they are copied out.
  return in_range(ind.sector_number, 0, disk);
}

}  // namespace

RequestCheck check_segments(std::span<const blkif_request_segment> segs, uint64_t sector, const DiskGeometry& disk) {
  constexpr unsigned kLastSectInPage = 4096 / 512 - 1;
  for (const auto& s : segs)
    if (s.first_sect > s.last_sect || s.last_sect > kLastSectInPage) return RequestCheck::kBadSegmentSectors;
  return in_range(sector, segment_sectors(segs), disk);
}

RequestCheck check_request(const blkif_request& req, const DiskGeometry& disk, const RequestLimits& limits) {
  switch (req.operation) {
    case BLKIF_OP_READ:
      break;
    case BLKIF_OP_WRITE:
      if (disk.read_only) return RequestCheck::kReadOnly;
      break;
    case BLKIF_OP_WRITE_BARRIER:
      if (!limits.barrier) return RequestCheck::kUnsupportedOp;
      [[fallthrough]];
    case BLKIF_OP_FLUSH_DISKCACHE:
      // Bare: a cache flush, fine on any disk. With data (Linux's
      // preflush/FUA writes): a write, then the flush.
      if (req.nr_segments == 0) return RequestCheck::kOk;
      if (disk.read_only) return RequestCheck::kReadOnly;
      break;
    case BLKIF_OP_DISCARD:
      // No segments: nr_segments is the discard's flag, which the spec says
      // to ignore when discard-secure is 0 (as we advertise).
      if (disk.read_only) return RequestCheck::kReadOnly;
      if (as_discard(req).nr_sectors == 0) return RequestCheck::kEmptyDiscard;
      return in_range(req.sector_number, request_sectors(req), disk);
    case BLKIF_OP_INDIRECT:
      return check_indirect(req, disk, limits);
    default:
      return RequestCheck::kUnsupportedOp;
  }
  if (req.nr_segments == 0 || req.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST) return RequestCheck::kBadSegmentCount;
  return check_segments({req.seg, req.nr_segments}, req.sector_number, disk);
}

GatheredSegments gather_segments(const blkif_request& req, const DiskGeometry& disk,
                                 std::span<blkif_request_segment> out, const IndirectPageMapper& map_page) {
  GatheredSegments g;
  if (req.operation != BLKIF_OP_INDIRECT) {
    // check_request() bounds the count; a request it did not see is refused here.
    if (req.nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST || req.nr_segments > out.size()) {
      g.check = RequestCheck::kBadSegmentCount;
      return g;
    }
    g.count = req.nr_segments;  // 0 for a bare flush or barrier
    memcpy(out.data(), req.seg, g.count * sizeof out[0]);
    return g;
  }
  blkif_request_indirect ind = as_indirect(req);
  if (ind.nr_segments > out.size() || indirect_pages(ind.nr_segments) > BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST) {
    g.check = RequestCheck::kBadSegmentCount;
    return g;
  }
  g.count = ind.nr_segments;
  for (unsigned p = 0, done = 0; done < g.count; ++p) {
    const uint8_t* page = map_page(ind.indirect_grefs[p]);
    if (!page) {
      g.refused_page = p;
      return g;
    }
    unsigned n = g.count - done < kSegmentsPerIndirectPage ? g.count - done : kSegmentsPerIndirectPage;
    memcpy(out.data() + done, page, n * sizeof out[0]);
    done += n;
  }
  g.check = check_segments(out.first(g.count), ind.sector_number, disk);
  return g;
}

}  // namespace atl::hv
