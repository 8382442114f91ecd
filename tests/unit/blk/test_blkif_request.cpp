// blkback's request checks: every field of struct blkif_request (and of
// struct blkif_request_indirect and its segments) out of range, and the
// xenstore keys the frontend writes, malformed.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "blkback.h"
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
  EXPECT_EQ(check_request(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, BLKIF_MAX_SEGMENTS_PER_REQUEST + 1), kDisk),
            RequestCheck::kBadSegmentCount);
}

TEST(BlkifRequest, FlushCarryingDataIsAWriteThenAFlush) {
  EXPECT_EQ(check_request(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 1), kDisk), RequestCheck::kOk);
  EXPECT_EQ(request_sectors(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 2)), 16u);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_FLUSH_DISKCACHE, kDisk.sectors - 7, 1), kDisk),
            RequestCheck::kOutOfRange);
  auto r = data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 1);
  r.seg[0].last_sect = 8;
  EXPECT_EQ(check_request(r, kDisk), RequestCheck::kBadSegmentSectors);
  // It writes, so not on a read-only disk; a bare flush is fine there.
  EXPECT_EQ(check_request(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 1), kReadOnlyDisk), RequestCheck::kReadOnly);
}

TEST(BlkifRequest, BarriersOnlyWhenNegotiated) {
  RequestLimits barrier{0, true};
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE_BARRIER, 0, 1), kDisk), RequestCheck::kUnsupportedOp);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE_BARRIER, 0, 1), kDisk, barrier), RequestCheck::kOk);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE_BARRIER, 0, 0), kDisk, barrier), RequestCheck::kOk);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE_BARRIER, 0, 12), kDisk, barrier),
            RequestCheck::kBadSegmentCount);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE_BARRIER, 0, 1), kReadOnlyDisk, barrier),
            RequestCheck::kReadOnly);
  EXPECT_EQ(check_request(data_request(BLKIF_OP_WRITE_BARRIER, kDisk.sectors, 1), kDisk, barrier),
            RequestCheck::kOutOfRange);
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

namespace {

constexpr RequestLimits kIndirect{256, false};

blkif_request indirect_request(uint8_t op, uint64_t sector, unsigned segments) {
  blkif_request_indirect d{};
  d.operation = BLKIF_OP_INDIRECT;
  d.indirect_op = op;
  d.nr_segments = static_cast<uint16_t>(segments);
  d.id = 5;
  d.sector_number = sector;
  for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; ++i) d.indirect_grefs[i] = 100 + i;
  blkif_request r{};
  memcpy(&r, &d, sizeof d);
  return r;
}

std::vector<blkif_request_segment> full_segments(unsigned n) {
  return std::vector<blkif_request_segment>(n, blkif_request_segment{42, 0, 7});
}

}  // namespace

TEST(BlkifIndirect, HeaderIsReadOutOfTheSlot) {
  auto r = indirect_request(BLKIF_OP_WRITE, 64, 300);
  EXPECT_EQ(data_operation(r), BLKIF_OP_WRITE);
  EXPECT_EQ(data_operation(data_request(BLKIF_OP_READ, 0, 1)), BLKIF_OP_READ);
  blkif_request_indirect ind = as_indirect(r);
  EXPECT_EQ(ind.nr_segments, 300u);
  EXPECT_EQ(ind.id, 5u);
  EXPECT_EQ(ind.sector_number, 64u);
  EXPECT_EQ(ind.indirect_grefs[7], 107u);
  EXPECT_EQ(indirect_pages(1), 1u);
  EXPECT_EQ(indirect_pages(512), 1u);
  EXPECT_EQ(indirect_pages(513), 2u);
  EXPECT_EQ(indirect_pages(4096), 8u);
}

TEST(BlkifIndirect, GoodHeadersPass) {
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 1), kDisk, kIndirect), RequestCheck::kOk);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_WRITE, 0, 256), kDisk, kIndirect), RequestCheck::kOk);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 64), kReadOnlyDisk, kIndirect), RequestCheck::kOk);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, kDisk.sectors, 1), kDisk, kIndirect), RequestCheck::kOk);
}

TEST(BlkifIndirect, RefusedUnlessNegotiated) {
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 1), kDisk), RequestCheck::kUnsupportedOp);
}

TEST(BlkifIndirect, EveryHeaderFieldOutOfRange) {
  // nr_segments: 0, one past the negotiated maximum, the field's maximum.
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 0), kDisk, kIndirect), RequestCheck::kBadSegmentCount);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 257), kDisk, kIndirect),
            RequestCheck::kBadSegmentCount);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 65535), kDisk, kIndirect),
            RequestCheck::kBadSegmentCount);
  // More segments than 8 indirect pages hold, even if a backend offered them.
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 4097), kDisk, RequestLimits{8192, false}),
            RequestCheck::kBadSegmentCount);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, 0, 4096), kDisk, RequestLimits{8192, false}),
            RequestCheck::kOk);
  // indirect_op: only READ and WRITE.
  for (uint8_t op : {uint8_t{BLKIF_OP_FLUSH_DISKCACHE}, uint8_t{BLKIF_OP_WRITE_BARRIER}, uint8_t{BLKIF_OP_DISCARD},
                     uint8_t{BLKIF_OP_INDIRECT}, uint8_t{BLKIF_OP_RESERVED_1}, uint8_t{255}})
    EXPECT_EQ(check_request(indirect_request(op, 0, 1), kDisk, kIndirect), RequestCheck::kBadIndirectOp) << int(op);
  // A write on a read-only disk; a start sector past the end.
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_WRITE, 0, 1), kReadOnlyDisk, kIndirect),
            RequestCheck::kReadOnly);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, kDisk.sectors + 1, 1), kDisk, kIndirect),
            RequestCheck::kOutOfRange);
  EXPECT_EQ(check_request(indirect_request(BLKIF_OP_READ, UINT64_MAX, 1), kDisk, kIndirect),
            RequestCheck::kOutOfRange);
}

TEST(BlkifIndirect, SegmentsFromTheIndirectPagesAreChecked) {
  auto segs = full_segments(256);
  EXPECT_EQ(segment_sectors(segs), 2048u);
  EXPECT_EQ(check_segments(segs, 0, kDisk), RequestCheck::kOk);
  EXPECT_EQ(check_segments(segs, kDisk.sectors - 2048, kDisk), RequestCheck::kOk);
  // The run must fit on the disk, without wrapping.
  EXPECT_EQ(check_segments(segs, kDisk.sectors - 2047, kDisk), RequestCheck::kOutOfRange);
  EXPECT_EQ(check_segments(segs, UINT64_MAX - 100, kDisk), RequestCheck::kOutOfRange);
  // Each segment's first/last sector, anywhere in the list (the last one too).
  for (unsigned at : {0u, 100u, 255u}) {
    for (auto [first, last] : {std::pair{5, 4}, std::pair{0, 8}, std::pair{8, 8}, std::pair{255, 255},
                               std::pair{255, 0}}) {
      auto bad = full_segments(256);
      bad[at].first_sect = static_cast<uint8_t>(first);
      bad[at].last_sect = static_cast<uint8_t>(last);
      EXPECT_EQ(check_segments(bad, 0, kDisk), RequestCheck::kBadSegmentSectors) << at << " " << first << "-" << last;
    }
  }
  // Partial pages are fine and count what they cover.
  auto partial = full_segments(3);
  partial[0].first_sect = 7;
  partial[2].last_sect = 0;
  EXPECT_EQ(check_segments(partial, 0, kDisk), RequestCheck::kOk);
  EXPECT_EQ(segment_sectors(partial), 1u + 8u + 1u);
}

TEST(BlkifGather, DirectSegmentsAreCopiedOutOfTheSlot) {
  auto r = data_request(BLKIF_OP_WRITE, 8, 3);
  blkif_request_segment out[kSegmentsPerIndirectPage];
  auto no_pages = [](uint32_t) -> const uint8_t* { ADD_FAILURE() << "a direct request mapped a page"; return nullptr; };
  GatheredSegments g = gather_segments(r, kDisk, out, no_pages);
  EXPECT_EQ(g.check, RequestCheck::kOk);
  EXPECT_EQ(g.count, 3u);
  EXPECT_EQ(out[2].gref, 12u);
  // A bare flush has none; a count check_request() would refuse is refused here too.
  EXPECT_EQ(gather_segments(data_request(BLKIF_OP_FLUSH_DISKCACHE, 0, 0), kDisk, out, no_pages).count, 0u);
  auto too_many = data_request(BLKIF_OP_READ, 0, 1);
  too_many.nr_segments = 200;
  g = gather_segments(too_many, kDisk, out, no_pages);
  EXPECT_EQ(g.check, RequestCheck::kBadSegmentCount);
  EXPECT_EQ(g.count, 0u);
}

TEST(BlkifGather, IndirectSegmentsComeFromTheirPagesInOrder) {
  // Two indirect pages: 512 segments on the first, the rest on the second.
  std::vector<std::vector<uint8_t>> pages(2, std::vector<uint8_t>(4096));
  for (unsigned i = 0; i < 600; ++i) {
    blkif_request_segment s{1000 + i, 0, 7};
    memcpy(pages[i / 512].data() + (i % 512) * sizeof s, &s, sizeof s);
  }
  std::vector<uint32_t> asked;
  auto map = [&](uint32_t gref) -> const uint8_t* {
    asked.push_back(gref);
    return gref >= 100 && gref < 102 ? pages[gref - 100].data() : nullptr;
  };
  std::vector<blkif_request_segment> out(1024);
  GatheredSegments g = gather_segments(indirect_request(BLKIF_OP_READ, 0, 600), kDisk, out, map);
  EXPECT_EQ(g.check, RequestCheck::kOk);
  EXPECT_FALSE(g.refused_page);
  EXPECT_EQ(g.count, 600u);
  EXPECT_EQ(asked, (std::vector<uint32_t>{100, 101}));
  EXPECT_EQ(out[0].gref, 1000u);
  EXPECT_EQ(out[599].gref, 1599u);
}

TEST(BlkifGather, RefusedPagesBadSegmentsAndShortBuffersFail) {
  std::vector<uint8_t> page(4096);
  blkif_request_segment bad{7, 6, 2};
  memcpy(page.data() + 3 * sizeof bad, &bad, sizeof bad);
  auto map = [&](uint32_t gref) -> const uint8_t* { return gref == 100 ? page.data() : nullptr; };
  blkif_request_segment out[kSegmentsPerIndirectPage];
  // Segment 3 on the page is first_sect > last_sect.
  GatheredSegments g = gather_segments(indirect_request(BLKIF_OP_READ, 0, 4), kDisk, out, map);
  EXPECT_EQ(g.check, RequestCheck::kBadSegmentSectors);
  // The second indirect page's grant is refused.
  std::vector<blkif_request_segment> room(1024);
  g = gather_segments(indirect_request(BLKIF_OP_READ, 0, 513), kDisk, room, map);
  ASSERT_TRUE(g.refused_page);
  EXPECT_EQ(*g.refused_page, 1u);
  // More segments than the caller has room for: refused before any page is read.
  g = gather_segments(indirect_request(BLKIF_OP_READ, 0, 300), kDisk, std::span(out, 256), map);
  EXPECT_EQ(g.check, RequestCheck::kBadSegmentCount);
  EXPECT_EQ(g.count, 0u);
}

TEST(BlkbackKeys, PublishesGeometryAndReadOnlyInfo) {
  auto rw = blkback_keys(kDisk);
  EXPECT_EQ(rw["sectors"], "32768");
  EXPECT_EQ(rw["sector-size"], "512");
  EXPECT_EQ(rw["physical-sector-size"], "4096");
  EXPECT_EQ(rw["info"], "0");
  EXPECT_EQ(rw["feature-flush-cache"], "1");
  EXPECT_EQ(rw["feature-persistent"], "1");
  EXPECT_EQ(rw["feature-max-indirect-segments"], "256");
  EXPECT_EQ(rw["feature-barrier"], "1");
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

TEST(BlkbackKeys, OffersMultiPageRingsAndQueues) {
  auto keys = blkback_keys(kDisk);
  EXPECT_EQ(keys["max-ring-page-order"], "4");
  EXPECT_EQ(keys["multi-queue-max-queues"], "4");
  EXPECT_EQ(blkback_keys(kDisk, 1, 2)["multi-queue-max-queues"], "1");
  EXPECT_EQ(blkback_keys(kDisk, 1, 2)["max-ring-page-order"], "2");
}

namespace {

using Keys = std::map<std::string, std::string>;
Result<FrontendRings> parse(const Keys& keys, unsigned max_queues = 4) {
  return parse_frontend_rings(
      [&](const std::string& k) -> std::optional<std::string> {
        auto it = keys.find(k);
        if (it == keys.end()) return std::nullopt;
        return it->second;
      },
      max_queues);
}

}  // namespace

TEST(BlkbackKeys, OnePageOneQueueRingKeysAreParsedStrictly) {
  auto ok = parse({{"ring-ref", "8"}, {"event-channel", "5"}, {"protocol", "x86_64-abi"}});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->ring_page_order, 0u);
  ASSERT_EQ(ok->queues.size(), 1u);
  ASSERT_EQ(ok->queues[0].ring_refs.size(), 1u);
  EXPECT_EQ(ok->queues[0].ring_refs[0], GrantRef(8));
  EXPECT_EQ(ok->queues[0].port, EvtchnPort(5));
  EXPECT_EQ(parse({{"event-channel", "5"}}).error(), Errno::kNoEnt);
  EXPECT_EQ(parse({{"ring-ref", "8"}}).error(), Errno::kNoEnt);
  EXPECT_EQ(parse({{"ring-ref", "8"}, {"event-channel", "5"}, {"protocol", "x86_32-abi"}}).error(), Errno::kOpNotSupp);
  for (const char* bad : {"", "-1", "8 ", "0x8", "4294967296", "99999999999"}) {
    EXPECT_EQ(parse({{"ring-ref", bad}, {"event-channel", "5"}}).error(), Errno::kInval) << bad;
    EXPECT_EQ(parse({{"ring-ref", "8"}, {"event-channel", bad}}).error(), Errno::kInval) << bad;
  }
  EXPECT_EQ(parse_u32("4294967295"), 4294967295u);
}

TEST(BlkbackKeys, RingPageOrderNamesRingRefsByNumber) {
  Keys keys{{"ring-page-order", "2"}, {"event-channel", "5"}};
  for (unsigned i = 0; i < 4; ++i) keys["ring-ref" + std::to_string(i)] = std::to_string(100 + i);
  auto ok = parse(keys);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->ring_page_order, 2u);
  ASSERT_EQ(ok->queues[0].ring_refs.size(), 4u);
  for (unsigned i = 0; i < 4; ++i) EXPECT_EQ(ok->queues[0].ring_refs[i], GrantRef(100 + i));
  // Order 0 given explicitly: ring-ref0, as Linux's blkback reads it.
  EXPECT_TRUE(parse({{"ring-page-order", "0"}, {"ring-ref0", "8"}, {"event-channel", "5"}}).ok());
  EXPECT_EQ(parse({{"ring-page-order", "0"}, {"ring-ref", "8"}, {"event-channel", "5"}}).error(), Errno::kNoEnt);
}

TEST(BlkbackKeys, BadRingPageOrderOrMissingRingRefIsRefused) {
  Keys full{{"event-channel", "5"}};
  for (unsigned i = 0; i < 32; ++i) full["ring-ref" + std::to_string(i)] = "8";
  for (const char* bad : {"5", "31", "32", "-1", "", "x", "4294967296"}) {
    Keys k = full;
    k["ring-page-order"] = bad;
    EXPECT_EQ(parse(k).error(), Errno::kInval) << bad;
  }
  full["ring-page-order"] = "4";
  EXPECT_TRUE(parse(full).ok());
  for (unsigned missing : {0u, 7u, 15u}) {
    Keys k = full;
    k.erase("ring-ref" + std::to_string(missing));
    EXPECT_EQ(parse(k).error(), Errno::kNoEnt) << missing;
  }
  Keys k = full;
  k["ring-ref9"] = "0x9";
  EXPECT_EQ(parse(k).error(), Errno::kInval);
}

TEST(BlkbackKeys, QueuesHaveTheirOwnDirectories) {
  Keys keys{{"multi-queue-num-queues", "3"}, {"ring-page-order", "1"}};
  for (unsigned q = 0; q < 3; ++q) {
    std::string d = "queue-" + std::to_string(q) + "/";
    keys[d + "ring-ref0"] = std::to_string(10 * q + 1);
    keys[d + "ring-ref1"] = std::to_string(10 * q + 2);
    keys[d + "event-channel"] = std::to_string(20 + q);
  }
  auto ok = parse(keys);
  ASSERT_TRUE(ok.ok());
  ASSERT_EQ(ok->queues.size(), 3u);
  for (unsigned q = 0; q < 3; ++q) {
    EXPECT_EQ(ok->queues[q].port, EvtchnPort(20 + q));
    EXPECT_EQ(ok->queues[q].ring_refs[1], GrantRef(10 * q + 2));
  }
  // More queues than offered, none, or malformed.
  for (const char* bad : {"0", "5", "-1", "", "two"}) {
    Keys k = keys;
    k["multi-queue-num-queues"] = bad;
    EXPECT_EQ(parse(k).error(), Errno::kInval) << bad;
  }
  EXPECT_EQ(parse(keys, 2).error(), Errno::kInval);
  Keys k = keys;
  k.erase("queue-2/event-channel");
  EXPECT_EQ(parse(k).error(), Errno::kNoEnt);
  k = keys;
  k.erase("queue-1/ring-ref1");
  EXPECT_EQ(parse(k).error(), Errno::kNoEnt);
  // One queue: the keys at the top, as without multi-queue.
  EXPECT_TRUE(parse({{"multi-queue-num-queues", "1"}, {"ring-ref", "8"}, {"event-channel", "5"}}).ok());
}

TEST(BlkbackKeys, DiskOptionFlags) {
  DiskConfig d;
  ASSERT_TRUE(parse_disk_option("a.img,direct,queues=2", d));
  EXPECT_EQ(d.path, "a.img");
  EXPECT_TRUE(d.direct);
  EXPECT_FALSE(d.read_only);
  EXPECT_EQ(d.queues, 2u);
  ASSERT_TRUE(parse_disk_option("b.img,ro", d));
  EXPECT_FALSE(d.direct);
  EXPECT_EQ(d.queues, 4u);
  for (const char* bad : {"a.img,queues=0", "a.img,queues=17", "a.img,queues=", "a.img,fast", ",ro"})
    EXPECT_FALSE(parse_disk_option(bad, d)) << bad;
}
