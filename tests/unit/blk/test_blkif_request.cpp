// blkback's request checks: every field of struct blkif_request out of range,
// and the xenstore keys the frontend writes, malformed.
#include <gtest/gtest.h>

#include <cstring>

#include "blkback_request.h"
#include "blkback_xenbus.h"

using namespace atl;
using namespace atl::hv;

namespace {

constexpr DiskGeometry kDisk{32768, false};  // 16 MiB
constexpr DiskGeometry kReadOnlyDisk{32768, true};

blkif_request data_request(uint8_t op, uint64_t sector, unsigned segments) {
  blkif_request r{};
  r.operation = op;
  r.sector_number = sector;
  r.nr_segments = static_cast<uint8_t>(segments);
  for (unsigned i = 0; i < segments && i < BLKIF_MAX_SEGMENTS_PER_REQUEST; ++i) {
    r.seg[i].gref = i + 10;
    r.seg[i].first_sect = 0;
    r.seg[i].last_sect = 7;
  }
  return r;
}

}  // namespace

TEST(BlkifRequest, GoodReadsWritesAndFlushPass) {
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, 0, 1), kDisk), RequestCheck::kOk);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE, 100, BLKIF_MAX_SEGMENTS_PER_REQUEST), kDisk), RequestCheck::kOk);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 0), kDisk), RequestCheck::kOk);
  EXPECT_EQ(request_sectors(data_request(BLKIF_OP_READ, 0, 3)), 24u);
}

TEST(BlkifRequest, UnknownAndUnnegotiatedOperationsAreUnsupported) {
  for (uint8_t op : {uint8_t{BLKIF_OP_WRITE_BARRIER}, uint8_t{BLKIF_OP_RESERVED_1},
                     uint8_t{BLKIF_OP_INDIRECT}, uint8_t{7}, uint8_t{255}})
    EXPECT_EQ(check_request(data_request(op, 0, 1), kDisk), RequestCheck::kUnsupportedOp) << int(op);
}

TEST(BlkifRequest, SegmentCountOutOfRange) {
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, 0, 0), kDisk), RequestCheck::kBadSegmentCount);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE, 0, BLKIF_MAX_SEGMENTS_PER_REQUEST + 1), kDisk),
            RequestCheck::kBadSegmentCount);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, 0, 255), kDisk), RequestCheck::kBadSegmentCount);
  // A flush carrying data is not supported yet.
  EXPECT_EQ(check_request(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 1), kDisk), RequestCheck::kBadSegmentCount);
}

TEST(BlkifRequest, SegmentSectorsOutOfRange) {
  auto r = data_request(BLKIF_OP_READ, 0, 2);
  r.seg[1].first_sect = 5;
  r.seg[1].last_sect = 4;  // first > last
  EXPECT_EQ(check_request(r, kDisk), RequestCheck::kBadSegmentSectors);
  r.seg[1].first_sect = 0;
  r.seg[1].last_sect = 8;  // past the page
  EXPECT_EQ(check_request(r, kDisk), RequestCheck::kBadSegmentSectors);
  r.seg[1].first_sect = 8;
  r.seg[1].last_sect = 8;
  EXPECT_EQ(check_request(r, kDisk), RequestCheck::kBadSegmentSectors);
  r.seg[1].first_sect = 255;
  r.seg[1].last_sect = 255;
  EXPECT_EQ(check_request(r, kDisk), RequestCheck::kBadSegmentSectors);
  r.seg[1].first_sect = 7;
  r.seg[1].last_sect = 7;  // the page's last sector alone is fine
  EXPECT_EQ(check_request(r, kDisk), RequestCheck::kOk);
}

TEST(BlkifRequest, SectorRangeOutOfTheDisk) {
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, kDisk.sectors - 8, 1), kDisk), RequestCheck::kOk);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, kDisk.sectors - 7, 1), kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE, kDisk.sectors, 1), kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, kDisk.sectors + 1, 1), kDisk), RequestCheck::kOutOfRange);
  // sector_number + length must not wrap around to pass.
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, UINT64_MAX, 1), kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, UINT64_MAX - 3, 1), kDisk), RequestCheck::kOutOfRange);
}

TEST(BlkifRequest, ReadOnlyDiskRefusesWritesOnly) {
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE, 0, 1), kReadOnlyDisk), RequestCheck::kReadOnly);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_READ, 0, 1), kReadOnlyDisk), RequestCheck::kOk);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 0), kReadOnlyDisk), RequestCheck::kOk);
}

namespace {

blkif_request discard_request(uint64_t sector, uint64_t sectors, uint8_t flag = 0) {
  blkif_request_discard d{};
  d.operation = BLKIF_OP_DISCARD;
  d.flag = flag;
  d.id = 77;
  d.sector_number = sector;
  d.nr_sectors = sectors;
  blkif_request r{};
  memcpy(&r, &d, sizeof d);
  return r;
}

}  // namespace

TEST(BlkifRequest, DiscardInRangePasses) {
  EXPECT_EQ(check_request(discard_request(0, 8), kDisk), RequestCheck::kOk);
  EXPECT_EQ(check_request(discard_request(8, kDisk.sectors - 8), kDisk), RequestCheck::kOk);
  // Unaligned ranges are allowed: the backend zeroes the partial blocks.
  EXPECT_EQ(check_request(discard_request(3, 1), kDisk), RequestCheck::kOk);
  // The secure flag is ignored when discard-secure is 0.
  EXPECT_EQ(check_request(discard_request(0, 8, BLKIF_DISCARD_SECURE), kDisk), RequestCheck::kOk);
  EXPECT_EQ(request_sectors(discard_request(16, 1234)), 1234u);
  EXPECT_EQ(as_discard(discard_request(16, 1234)).id, 77u);
}

TEST(BlkifRequest, DiscardOutOfRangeEmptyOrReadOnlyIsRefused) {
  EXPECT_EQ(check_request(discard_request(0, 0), kDisk), RequestCheck::kEmptyDiscard);
  EXPECT_EQ(check_request(discard_request(0, kDisk.sectors + 1), kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(discard_request(kDisk.sectors, 1), kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(discard_request(8, UINT64_MAX), kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(discard_request(UINT64_MAX, 2), kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(discard_request(0, 8), kReadOnlyDisk), RequestCheck::kReadOnly);
}

TEST(BlkbackKeys, PublishesGeometryAndReadOnlyInfo) {
  auto rw = blkback_keys(kDisk);
  EXPECT_EQ(rw["sectors"], "32768");
  EXPECT_EQ(rw["sector-size"], "512");
  EXPECT_EQ(rw["physical-sector-size"], "4096");
  EXPECT_EQ(rw["info"], "0");
  EXPECT_EQ(rw["feature-flush-cache"], "1");
  EXPECT_EQ(blkback_keys(kReadOnlyDisk)["info"], std::to_string(VDISK_READONLY));
}

TEST(BlkbackKeys, DiscardIsOfferedOnWritableDisksOnly) {
  auto rw = blkback_keys(kDisk);
  EXPECT_EQ(rw["feature-discard"], "1");
  EXPECT_EQ(rw["discard-granularity"], "4096");
  EXPECT_EQ(rw["discard-alignment"], "0");
  EXPECT_EQ(rw["discard-secure"], "0");
  EXPECT_EQ(blkback_keys(kReadOnlyDisk).count("feature-discard"), 0u);
}

TEST(BlkbackKeys, FrontendRingKeysAreParsedStrictly) {
  using S = std::optional<std::string>;
  auto ok = parse_frontend_ring(S("8"), S("5"), S("x86_64-abi"), std::nullopt);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->ring_ref, GrantRef(8));
  EXPECT_EQ(ok->port, EvtchnPort(5));
  EXPECT_TRUE(parse_frontend_ring(S("8"), S("5"), std::nullopt, S("0")).ok());
  EXPECT_EQ(parse_frontend_ring(std::nullopt, S("5"), std::nullopt, std::nullopt).error(), Errno::kNoEnt);
  EXPECT_EQ(parse_frontend_ring(S("8"), std::nullopt, std::nullopt, std::nullopt).error(), Errno::kNoEnt);
  EXPECT_EQ(parse_frontend_ring(S("8"), S("5"), S("x86_32-abi"), std::nullopt).error(), Errno::kOpNotSupp);
  EXPECT_EQ(parse_frontend_ring(S("8"), S("5"), std::nullopt, S("1")).error(), Errno::kOpNotSupp);
  for (const char* bad : {"", "-1", "8 ", "0x8", "4294967296", "99999999999"})
    EXPECT_EQ(parse_frontend_ring(S(bad), S("5"), std::nullopt, std::nullopt).error(), Errno::kInval) << bad;
  EXPECT_EQ(parse_u32("4294967295"), 4294967295u);
}
