// The console/xenstore byte ring: wrap-around of the indices near 2^32, partial
// reads and writes, and the hostile states a peer can write.
#include <gtest/gtest.h>

#include <string>

#include "atoll/byte_ring.h"

namespace atl {
namespace {

struct Ring {
  char data[16] = {};
  uint32_t cons = 0;
  uint32_t prod = 0;
  ByteRingView<16> view() { return {data, &cons, &prod}; }
};

TEST(ByteRing, WritesAndReadsAcrossTheIndexWrap) {
  Ring r;
  r.cons = r.prod = 0xFFFFFFF8u;  // 8 bytes before the 32-bit wrap
  std::string out;
  for (int round = 0; round < 10; ++round) {
    std::string chunk = "abcdefghijk" + std::to_string(round);
    EXPECT_EQ(r.view().write(chunk.data(), chunk.size()), chunk.size());
    char buf[16];
    size_t n = r.view().read(buf, sizeof buf);
    out.append(buf, n);
    EXPECT_EQ(std::string(buf, n), chunk);
  }
  EXPECT_EQ(r.prod - r.cons, 0u);
  EXPECT_LT(r.prod, 0x100u) << "indices should have wrapped";
}

TEST(ByteRing, PartialWriteWhenFull) {
  Ring r;
  EXPECT_EQ(r.view().write("0123456789ABCDEFGHIJ", 20), 16u);
  EXPECT_EQ(r.view().writable(), 0u);
  EXPECT_EQ(r.view().write("x", 1), 0u);
  char buf[4];
  EXPECT_EQ(r.view().read(buf, 4), 4u);
  EXPECT_EQ(std::string(buf, 4), "0123");
  EXPECT_EQ(r.view().writable(), 4u);
}

TEST(ByteRing, HostileIndicesReadAsEmptyAndFull) {
  Ring r;
  r.cons = 0;
  r.prod = 17;  // more than the ring holds
  EXPECT_FALSE(r.view().sane());
  EXPECT_EQ(r.view().readable(), 0u);
  EXPECT_EQ(r.view().writable(), 0u);
  char buf[32];
  EXPECT_EQ(r.view().read(buf, sizeof buf), 0u);
  EXPECT_EQ(r.view().write(buf, sizeof buf), 0u);
  r.cons = 10;
  r.prod = 5;  // consumer ahead of producer
  EXPECT_FALSE(r.view().sane());
  EXPECT_EQ(r.view().read(buf, sizeof buf), 0u);
}

}  // namespace
}  // namespace atl
