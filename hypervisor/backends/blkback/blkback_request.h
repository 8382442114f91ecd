// Checks a block request the guest put on the ring (xen/io/blkif.h, struct
// blkif_request) against the disk before blkback touches a grant or the file.
// An INDIRECT request is checked twice: its header here, then the segments
// copied out of its indirect pages with check_segments(). Pure: no domain, no
// file, so the validation matrix is unit-tested on its own.
#pragma once

#include <xen/io/blkif.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>

namespace atl::hv {

// ABI: xen/io/blkif.h; the sizes every blkif implementation agrees on.
static_assert(sizeof(blkif_request) == 112);
static_assert(sizeof(blkif_response) == 16);
static_assert(sizeof(blkif_request_segment) == 8);
// A discard shares the request's slot: nr_sectors sits where seg[0] does.
static_assert(sizeof(blkif_request_discard) <= sizeof(blkif_request));
static_assert(offsetof(blkif_request_discard, sector_number) == offsetof(blkif_request, sector_number));
static_assert(offsetof(blkif_request_discard, nr_sectors) == 24);
// So does an indirect request: indirect_grefs sit inside the slot.
static_assert(sizeof(blkif_request_indirect) <= sizeof(blkif_request));
static_assert(offsetof(blkif_request_indirect, sector_number) == offsetof(blkif_request, sector_number));
// Segments per indirect page (Linux's BLKIF_SEGS_PER_INDIRECT_FRAME).
constexpr unsigned kSegmentsPerIndirectPage = 4096 / sizeof(blkif_request_segment);
static_assert(kSegmentsPerIndirectPage == 512);

struct DiskGeometry {
  uint64_t sectors = 0;  // 512-byte sectors
  bool read_only = false;
};

// What the backend offered (and so accepts): feature-max-indirect-segments
// (0: no INDIRECT) and feature-barrier.
struct RequestLimits {
  unsigned max_indirect_segments = 0;
  bool barrier = false;
};

enum class RequestCheck {
  kOk,
  kUnsupportedOp,      // INDIRECT or barriers not negotiated, unknown operations
  kReadOnly,           // a write, flush with data, barrier or discard on a read-only disk
  kEmptyDiscard,       // a discard of 0 sectors
  kBadSegmentCount,    // 0 or > BLKIF_MAX_SEGMENTS_PER_REQUEST for data (> the
                       // negotiated maximum for INDIRECT)
  kBadSegmentSectors,  // first_sect > last_sect or last_sect > 7
  kOutOfRange,         // sector_number + length past the end (or overflowing)
  kBadIndirectOp,      // INDIRECT wrapping anything but READ or WRITE
};

const char* to_string(RequestCheck check);

// Sectors the request transfers or discards (0 for a flush); meaningful only
// when check_request() is kOk.
// For INDIRECT, sectors are known only from the segments (segment_sectors()).
uint64_t request_sectors(const blkif_request& req);
uint64_t segment_sectors(std::span<const blkif_request_segment> segs);
RequestCheck check_request(const blkif_request& req, const DiskGeometry& disk, const RequestLimits& limits = {});
// Each segment within its page and the whole run on the disk, from `sector`.
RequestCheck check_segments(std::span<const blkif_request_segment> segs, uint64_t sector, const DiskGeometry& disk);

// The operation that moves data: indirect_op for INDIRECT, else operation.
uint8_t data_operation(const blkif_request& req);
// Indirect pages an INDIRECT request of `nr_segments` segments uses.
inline unsigned indirect_pages(unsigned nr_segments) {
  return (nr_segments + kSegmentsPerIndirectPage - 1) / kSegmentsPerIndirectPage;
}

// A checked request's segments, copied into `out`: from the ring slot, or for
// INDIRECT from its indirect pages, which `map_page` turns from grant refs into
// host pages (nullptr: the grant is refused). The copy is what gets checked
// (check_segments) and used, since the guest may rewrite its pages meanwhile.
struct GatheredSegments {
  unsigned count = 0;  // the request's segment count (kept when a page is refused or a segment is bad)
  RequestCheck check = RequestCheck::kOk;
  std::optional<unsigned> refused_page;  // the indirect page map_page refused
};
using IndirectPageMapper = std::function<const uint8_t*(uint32_t gref)>;
GatheredSegments gather_segments(const blkif_request& req, const DiskGeometry& disk,
                                 std::span<blkif_request_segment> out, const IndirectPageMapper& map_page);

// ABI: xen/io/blkif.h, struct blkif_request_discard, read out of the ring slot.
blkif_request_discard as_discard(const blkif_request& req);
// ABI: xen/io/blkif.h, struct blkif_request_indirect, read out of the ring slot.
blkif_request_indirect as_indirect(const blkif_request& req);

}  // namespace atl::hv
