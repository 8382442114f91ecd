// GuestMemory::span is the one checked way from a guest address to host memory:
// every edge of RAM and of the hypervisor-frames window, and inputs chosen to
// overflow a naive `gva + length` check.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>

#include "guest_memory.h"

namespace atl::hv {
namespace {

using hosted::kGuestBase;
using hosted::kHvFramesCount;
using hosted::kHvFramesGpa;
using hosted::kPageSize;

constexpr uint64_t kRam = 16 << 20;
constexpr uint64_t kFramesBase = kGuestBase + kHvFramesGpa;
constexpr uint64_t kFramesSize = kHvFramesCount * kPageSize;

class GuestMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    auto m = GuestMemory::try_create(kRam, error);
    ASSERT_TRUE(m.has_value()) << error;
    m_mem.emplace(std::move(*m));
  }
  const GuestMemory& mem() const { return *m_mem; }
  bool accepts(uint64_t gva, uint64_t length) const { return mem().span(gva, length).has_value(); }

  std::optional<GuestMemory> m_mem;
};

TEST_F(GuestMemoryTest, CreatesBothMemfds) {
  EXPECT_EQ(mem().size(), kRam);
  EXPECT_GE(mem().ram_fd(), 0);
  EXPECT_GE(mem().frames_fd(), 0);
  EXPECT_NE(mem().ram_fd(), mem().frames_fd());
  EXPECT_EQ(lseek(mem().ram_fd(), 0, SEEK_END), static_cast<off_t>(kRam));
  EXPECT_EQ(lseek(mem().frames_fd(), 0, SEEK_END), static_cast<off_t>(kFramesSize));
}

TEST_F(GuestMemoryTest, SpanInsideRamPointsAtRam) {
  auto s = mem().span(kGuestBase + 0x1234, 16);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->size(), 16u);
  EXPECT_EQ(s->data(), mem().ram_at(0x1234));
  auto whole = mem().span(kGuestBase, kRam);
  ASSERT_TRUE(whole.has_value());
  EXPECT_EQ(whole->size(), kRam);
  EXPECT_EQ(whole->data(), mem().ram_at(0));
}

TEST_F(GuestMemoryTest, SpanAtTheEdgeOfRam) {
  EXPECT_TRUE(accepts(kGuestBase + kRam - 1, 1)) << "the last byte";
  EXPECT_TRUE(accepts(kGuestBase + kRam - 8, 8));
  EXPECT_FALSE(accepts(kGuestBase + kRam - 1, 2)) << "straddles the end";
  EXPECT_FALSE(accepts(kGuestBase + kRam, 1)) << "one byte past";
  EXPECT_FALSE(accepts(kGuestBase, kRam + 1)) << "one byte too long";
  EXPECT_FALSE(accepts(kGuestBase + kRam + kPageSize, 1));
  // An empty range at the very end names no memory; if it is accepted it must be empty.
  auto empty = mem().span(kGuestBase + kRam, 0);
  if (empty) {
    EXPECT_EQ(empty->size(), 0u);
  }
}

TEST_F(GuestMemoryTest, SpanBelowGuestBase) {
  EXPECT_FALSE(accepts(0, 1));
  EXPECT_FALSE(accepts(0, 0));
  EXPECT_FALSE(accepts(kGuestBase - 1, 1));
  EXPECT_FALSE(accepts(kGuestBase - 1, 2)) << "straddles the base";
  EXPECT_FALSE(accepts(kGuestBase - kRam, kRam)) << "below base; in RAM only if the subtraction wrapped";
  EXPECT_TRUE(accepts(kGuestBase, 1));
}

TEST_F(GuestMemoryTest, SpanRejectsOverflowingInputs) {
  EXPECT_FALSE(accepts(UINT64_MAX, 1));
  EXPECT_FALSE(accepts(UINT64_MAX, UINT64_MAX));
  EXPECT_FALSE(accepts(UINT64_MAX, 0));
  EXPECT_FALSE(accepts(kGuestBase, UINT64_MAX));
  // gva + length wraps to exactly kGuestBase + 0x10: a naive end check would pass.
  EXPECT_FALSE(accepts(kGuestBase + 0x20, UINT64_MAX - 0xF));
  EXPECT_FALSE(accepts(kGuestBase + kRam - 1, UINT64_MAX));
  EXPECT_FALSE(accepts(kGuestBase + 1, UINT64_MAX - kGuestBase));
  EXPECT_FALSE(accepts(kFramesBase, UINT64_MAX));
  EXPECT_FALSE(accepts(kFramesBase + 0x10, UINT64_MAX - 0xF));
  EXPECT_FALSE(accepts(UINT64_MAX - kPageSize, kPageSize));
  EXPECT_FALSE(accepts(1ULL << 63, 1));
}

TEST_F(GuestMemoryTest, HoleBetweenRamAndFramesIsNotMemory) {
  EXPECT_FALSE(accepts(kGuestBase + kRam, kPageSize));
  EXPECT_FALSE(accepts(kFramesBase - 1, 1));
  EXPECT_FALSE(accepts(kFramesBase - 1, 2)) << "straddles into the frames window";
  EXPECT_FALSE(accepts(kGuestBase + kHvFramesGpa / 2, 1));
}

TEST_F(GuestMemoryTest, FramesWindowMapsHypervisorFrames) {
  auto first = mem().span(kFramesBase, kPageSize);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->data(), mem().frame(0));
  auto second = mem().span(kFramesBase + kPageSize + 8, 8);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->data(), mem().frame(1) + 8);
  auto all = mem().span(kFramesBase, kFramesSize);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->size(), kFramesSize);
}

TEST_F(GuestMemoryTest, FramesWindowEdges) {
  EXPECT_TRUE(accepts(kFramesBase + kFramesSize - 1, 1)) << "the last byte of the last frame";
  EXPECT_FALSE(accepts(kFramesBase + kFramesSize - 1, 2));
  EXPECT_FALSE(accepts(kFramesBase + kFramesSize, 1)) << "one byte past the window";
  EXPECT_FALSE(accepts(kFramesBase, kFramesSize + 1));
  EXPECT_FALSE(accepts(kFramesBase + kFramesSize + kPageSize, 8));
}

TEST_F(GuestMemoryTest, WriteThenReadRoundTrips) {
  struct Record {
    uint32_t a;
    uint64_t b;
    char text[12];
  };
  const Record in{0xA5A5A5A5u, 0x0123456789ABCDEFull, "round trip"};
  const uint64_t gva = kGuestBase + 0x10000 + 3;  // deliberately unaligned
  ASSERT_TRUE(mem().write(gva, in));
  Record out{};
  ASSERT_TRUE(mem().read(gva, out));
  EXPECT_EQ(out.a, in.a);
  EXPECT_EQ(out.b, in.b);
  EXPECT_STREQ(out.text, "round trip");
  // The bytes landed in guest RAM where the guest would see them.
  EXPECT_EQ(std::memcmp(mem().ram_at(0x10000 + 3), &in, sizeof in), 0);
}

TEST_F(GuestMemoryTest, WritesAreVisibleThroughTheMemfd) {
  // The guest process maps the same memfd, so it sees what span() writes.
  const uint64_t value = 0xFEEDFACECAFEBEEFull;
  ASSERT_TRUE(mem().write(kGuestBase + 0x2000, value));
  uint64_t seen = 0;
  ASSERT_EQ(pread(mem().ram_fd(), &seen, sizeof seen, 0x2000), static_cast<ssize_t>(sizeof seen));
  EXPECT_EQ(seen, value);
  ASSERT_TRUE(mem().write(kFramesBase + kPageSize, uint32_t{0x1234}));
  uint32_t frame_word = 0;
  ASSERT_EQ(pread(mem().frames_fd(), &frame_word, sizeof frame_word, kPageSize), 4);
  EXPECT_EQ(frame_word, 0x1234u);
}

TEST_F(GuestMemoryTest, ReadAndWriteOutsideGuestMemoryFail) {
  uint64_t v = 0x1111;
  EXPECT_FALSE(mem().write(kGuestBase + kRam - 4, v)) << "straddles the end of RAM";
  EXPECT_FALSE(mem().read(kGuestBase + kRam - 4, v));
  EXPECT_EQ(v, 0x1111u) << "a failed read leaves the output alone";
  EXPECT_FALSE(mem().write(kGuestBase - 8, v));
  EXPECT_FALSE(mem().read(UINT64_MAX - 3, v));
  EXPECT_FALSE(mem().write(kFramesBase + kFramesSize - 4, v));
  EXPECT_TRUE(mem().write(kGuestBase + kRam - 8, v)) << "the last whole word fits";
}

TEST_F(GuestMemoryTest, MemoryStartsZeroed) {
  uint64_t v = 1;
  ASSERT_TRUE(mem().read(kGuestBase + kRam / 2, v));
  EXPECT_EQ(v, 0u);
  EXPECT_EQ(mem().frame(0)[100], 0);
}

TEST(GuestMemory, MoveKeepsTheMapping) {
  std::string error;
  auto a = GuestMemory::try_create(kRam, error);
  ASSERT_TRUE(a.has_value()) << error;
  ASSERT_TRUE(a->write(kGuestBase + 64, uint32_t{77}));
  int fd = a->ram_fd();
  GuestMemory b(std::move(*a));
  EXPECT_EQ(a->ram_fd(), -1) << "the moved-from object gives up its descriptors";
  EXPECT_EQ(a->frames_fd(), -1);
  EXPECT_EQ(b.ram_fd(), fd);
  uint32_t v = 0;
  ASSERT_TRUE(b.read(kGuestBase + 64, v));
  EXPECT_EQ(v, 77u);
}

TEST(GuestMemory, MaximumMemoryEndsWhereFramesBegin) {
  // RAM is only reserved, not populated, so the largest size is cheap to create.
  std::string error;
  auto m = GuestMemory::try_create(hosted::kMaxMemory, error);
  ASSERT_TRUE(m.has_value()) << error;
  auto last_ram = m->span(kGuestBase + hosted::kMaxMemory - 1, 1);
  ASSERT_TRUE(last_ram.has_value());
  EXPECT_EQ(last_ram->data(), m->ram_at(hosted::kMaxMemory - 1));
  auto first_frame = m->span(kFramesBase, 1);
  ASSERT_TRUE(first_frame.has_value());
  EXPECT_EQ(first_frame->data(), m->frame(0)) << "the frames window is frames, not RAM";
  // RAM and frames are adjacent to the guest but not in host memory: no span across.
  EXPECT_FALSE(m->span(kFramesBase - 1, 2).has_value());
}

TEST(GuestMemory, ImpossibleSizesFailWithAReason) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1} << 62}) {
    std::string error;
    auto m = GuestMemory::try_create(size, error);
    EXPECT_FALSE(m.has_value()) << size;
    EXPECT_FALSE(error.empty()) << size;
  }
}

}  // namespace
}  // namespace atl::hv
