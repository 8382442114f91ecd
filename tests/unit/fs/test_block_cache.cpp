// CachedSource over a fake sector device: bytes across block boundaries and
// the device's partial last block, LRU eviction, batched misses, scans that
// go in cold, errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "block_source.h"

using namespace atl;
using namespace atl::fs;

namespace {

class FakeDevice final : public SectorDevice {
 public:
  explicit FakeDevice(uint64_t sectors) : m_bytes(sectors * kSectorSize) {
    for (size_t i = 0; i < m_bytes.size(); ++i) m_bytes[i] = byte_at(i);
  }
  static uint8_t byte_at(uint64_t i) { return static_cast<uint8_t>((i * 2654435761u) >> 13); }

  uint64_t sectors() const override { return m_bytes.size() / kSectorSize; }
  Result<void> read_sectors(uint64_t sector, void* buf, size_t count) override {
    requests.push_back({sector, count});
    if (reinterpret_cast<uintptr_t>(buf) % 4096) misaligned = true;
    if (fail) return Errno::kIo;
    if (sector + count > sectors()) return Errno::kRange;
    memcpy(buf, m_bytes.data() + sector * kSectorSize, count * kSectorSize);
    return {};
  }

  std::vector<std::pair<uint64_t, size_t>> requests;
  bool fail = false;
  bool misaligned = false;

 private:
  std::vector<uint8_t> m_bytes;
};

bool matches(const std::vector<uint8_t>& buf, uint64_t offset) {
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] != FakeDevice::byte_at(offset + i)) return false;
  }
  return true;
}

}  // namespace

TEST(BlockCache, BytesAnywhereIncludingThePartialLastBlock) {
  FakeDevice dev(8 * 10 + 3);  // 10 whole blocks and 3 sectors
  CachedSource cache(dev, 4);
  EXPECT_EQ(cache.size(), (8 * 10 + 3) * 512u);
  struct Read {
    uint64_t offset;
    size_t len;
  };
  for (Read r : {Read{0, 1}, Read{4095, 2}, Read{1000, 20000}, Read{cache.size() - 700, 700}, Read{12345, 0},
                 Read{0, static_cast<size_t>(cache.size())}}) {
    std::vector<uint8_t> buf(r.len);
    ASSERT_TRUE(cache.read(r.offset, buf.data(), buf.size()).ok()) << r.offset;
    EXPECT_TRUE(matches(buf, r.offset)) << r.offset;
  }
  EXPECT_FALSE(dev.misaligned);
  for (auto& [sector, count] : dev.requests) EXPECT_LE(sector + count, dev.sectors());
}

TEST(BlockCache, OutOfRangeIsKRange) {
  FakeDevice dev(16);
  CachedSource cache(dev);
  uint8_t b[2];
  EXPECT_EQ(cache.read(cache.size(), b, 1).error(), Errno::kRange);
  EXPECT_EQ(cache.read(cache.size() - 1, b, 2).error(), Errno::kRange);
  EXPECT_EQ(cache.read(UINT64_MAX, b, 2).error(), Errno::kRange);
  EXPECT_TRUE(cache.read(cache.size(), b, 0).ok());
  EXPECT_TRUE(dev.requests.empty());
}

TEST(BlockCache, LeastRecentlyUsedIsEvicted) {
  FakeDevice dev(8 * 16);
  CachedSource cache(dev, 4);
  uint8_t b;
  for (uint64_t block : {0, 1, 2, 3}) ASSERT_TRUE(cache.read(block * 4096, &b, 1).ok());
  EXPECT_EQ(cache.stats().misses, 4u);
  ASSERT_TRUE(cache.read(0, &b, 1).ok());  // 0 is now the most recent; 1 the least
  EXPECT_EQ(cache.stats().hits, 1u);
  ASSERT_TRUE(cache.read(4 * 4096, &b, 1).ok());
  EXPECT_TRUE(cache.cached(0));
  EXPECT_FALSE(cache.cached(1));
  EXPECT_TRUE(cache.cached(2));
  EXPECT_TRUE(cache.cached(4));
  ASSERT_TRUE(cache.read(5 * 4096, &b, 1).ok());
  EXPECT_FALSE(cache.cached(2));
  EXPECT_EQ(cache.stats().misses, 6u);
  size_t before = dev.requests.size();
  ASSERT_TRUE(cache.read(0, &b, 1).ok());
  EXPECT_EQ(dev.requests.size(), before);  // still cached: no device read
}

TEST(BlockCache, MissesNextToEachOtherAreOneDeviceRead) {
  FakeDevice dev(8 * 1024);  // 4 MiB
  CachedSource cache(dev);
  std::vector<uint8_t> buf(64 * 1024);
  ASSERT_TRUE(cache.read(0, buf.data(), buf.size()).ok());
  EXPECT_EQ(dev.requests.size(), 1u);
  EXPECT_EQ(dev.requests[0], (std::pair<uint64_t, size_t>{0, 128}));
  EXPECT_EQ(cache.stats().misses, 16u);
  EXPECT_EQ(cache.stats().hits, 0u);
  // 256 KiB from 32 KiB on: 8 hits, then misses in batches of at most 32 blocks.
  buf.resize(256 * 1024);
  ASSERT_TRUE(cache.read(32 * 1024, buf.data(), buf.size()).ok());
  EXPECT_TRUE(matches(buf, 32 * 1024));
  EXPECT_EQ(cache.stats().hits, 8u);
  EXPECT_EQ(cache.stats().misses, 16u + 56u);
  EXPECT_EQ(dev.requests.size(), 3u);  // 1 + 32 blocks + 24 blocks
}

TEST(BlockCache, AFileOneBlockTooBigStillHitsWhenStreamedAgain) {
  // 257 blocks through a 256-block cache in 64 KiB reads: plain LRU misses on
  // every block of every pass; cold runs lose about one block a pass.
  FakeDevice dev(8 * 300);
  CachedSource cache(dev, 256);
  std::vector<uint8_t> buf(64 * 1024);
  auto stream = [&] {
    for (uint64_t at = 0; at < 257 * 4096; at += buf.size()) {
      size_t n = std::min<uint64_t>(buf.size(), 257 * 4096 - at);
      ASSERT_TRUE(cache.read(at, buf.data(), n).ok());
      ASSERT_TRUE(matches(std::vector<uint8_t>(buf.begin(), buf.begin() + n), at));
    }
  };
  stream();
  EXPECT_EQ(cache.stats().misses, 257u);
  stream();
  EXPECT_LE(cache.stats().misses, 257u + 2u);
  EXPECT_GE(cache.stats().hits, 255u);
}

TEST(BlockCache, StreamingDoesNotEvictBlocksInUse) {
  FakeDevice dev(8 * 2048);  // 8 MiB
  CachedSource cache(dev, 64);
  uint8_t b;
  for (uint64_t block : {0, 1, 2, 3}) ASSERT_TRUE(cache.read(block * 4096, &b, 1).ok());
  std::vector<uint8_t> buf(128 * 1024);
  for (uint64_t at = 1024 * 1024; at < 5 * 1024 * 1024; at += buf.size())
    ASSERT_TRUE(cache.read(at, buf.data(), buf.size()).ok());
  for (uint64_t block : {0, 1, 2, 3}) EXPECT_TRUE(cache.cached(block)) << block;
  // A streamed block read again is in use from then on, like any other.
  ASSERT_TRUE(cache.read(5 * 1024 * 1024 - 4096, &b, 1).ok());
  ASSERT_TRUE(cache.read(6 * 1024 * 1024, buf.data(), buf.size()).ok());
  EXPECT_TRUE(cache.cached((5 * 1024 * 1024 - 4096) / 4096));
}

TEST(BlockCache, BatchesNeverOutgrowASmallCache) {
  FakeDevice dev(8 * 64);
  CachedSource cache(dev, 3);
  std::vector<uint8_t> buf(10 * 4096 + 100);
  ASSERT_TRUE(cache.read(50, buf.data(), buf.size()).ok());
  EXPECT_TRUE(matches(buf, 50));
  for (auto& [sector, count] : dev.requests) EXPECT_LE(count, 3u * 8u);
}

TEST(BlockCache, DeviceErrorsPassThroughAndLeaveNothingCached) {
  FakeDevice dev(8 * 8);
  CachedSource cache(dev, 4);
  uint8_t b[10];
  dev.fail = true;
  EXPECT_EQ(cache.read(100, b, sizeof b).error(), Errno::kIo);
  EXPECT_FALSE(cache.cached(0));
  dev.fail = false;
  ASSERT_TRUE(cache.read(100, b, sizeof b).ok());
  EXPECT_TRUE(matches(std::vector<uint8_t>(b, b + sizeof b), 100));
}

TEST(BlockCache, MemorySource) {
  const char text[] = "sealed bytes";
  MemorySource m(text, sizeof text);
  char out[6] = {};
  ASSERT_TRUE(m.read(7, out, 5).ok());
  EXPECT_STREQ(out, "bytes");
  EXPECT_EQ(m.read(8, out, 6).error(), Errno::kRange);
}
