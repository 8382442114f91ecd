// Checks a block request the guest put on the ring (xen/io/blkif.h, struct
// blkif_request) against the disk before blkback touches a grant or the file.
// Pure: no domain, no file, so the validation matrix is unit-tested on its own.
#pragma once

#include <xen/io/blkif.h>

#include <cstddef>
#include <cstdint>

namespace atl::hv {

// ABI: xen/io/blkif.h; the sizes every blkif implementation agrees on.
static_assert(sizeof(blkif_request) == 112);
static_assert(sizeof(blkif_response) == 16);
static_assert(sizeof(blkif_request_segment) == 8);
// A discard shares the request's slot: nr_sectors sits where seg[0] does.
static_assert(sizeof(blkif_request_discard) <= sizeof(blkif_request));
static_assert(offsetof(blkif_request_discard, sector_number) == offsetof(blkif_request, sector_number));
static_assert(offsetof(blkif_request_discard, nr_sectors) == 24);

struct DiskGeometry {
  uint64_t sectors = 0;  // 512-byte sectors
  bool read_only = false;
};

enum class RequestCheck {
  kOk,
  kUnsupportedOp,      // INDIRECT, barriers, unknown: not negotiated
  kReadOnly,           // a write or discard on a read-only disk
  kEmptyDiscard,       // a discard of 0 sectors
  kBadSegmentCount,    // 0 or > BLKIF_MAX_SEGMENTS_PER_REQUEST for data; > 0 for a bare flush
  kBadSegmentSectors,  // first_sect > last_sect or last_sect > 7
  kOutOfRange,         // sector_number + length past the end (or overflowing)
};

const char* to_string(RequestCheck check);

// Sectors the request transfers or discards (0 for a flush); meaningful only
// when check_request() is kOk.
uint64_t request_sectors(const blkif_request& req);
RequestCheck check_request(const blkif_request& req, const DiskGeometry& disk);

// ABI: xen/io/blkif.h, struct blkif_request_discard, read out of the ring slot.
blkif_request_discard as_discard(const blkif_request& req);

}  // namespace atl::hv
