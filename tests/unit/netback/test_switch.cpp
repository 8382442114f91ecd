// LearningSwitch: the forwarding logic of switch=NAME, without its sockets.
// Source MACs are learned per port and age out; unknown, broadcast and
// multicast destinations flood to every port but the one a frame came in on.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "switch.h"

using namespace atl::hv;

namespace {

using Mac = std::array<uint8_t, 6>;
using Ports = std::vector<LearningSwitch::Port>;

constexpr Mac kA = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x0a};
constexpr Mac kB = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x0b};
constexpr Mac kC = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0c};
constexpr Mac kBroadcast = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
constexpr Mac kIpv4Multicast = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
constexpr Mac kIpv6Multicast = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
constexpr uint64_t kT0 = 1'000'000'000;

// Distinct stations for filling the table, none of them kA or kB.
Mac numbered(unsigned n) {
  return {0x00, 0x16, 0x3e, static_cast<uint8_t>(0x40 | n >> 16), static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
}

std::vector<uint8_t> frame(const Mac& dst, const Mac& src, size_t size = 60) {
  std::vector<uint8_t> f(size, 0);
  std::copy(dst.begin(), dst.end(), f.begin());
  std::copy(src.begin(), src.end(), f.begin() + 6);
  f[12] = 0x08;  // IPv4
  return f;
}

Ports sorted(Ports p) {
  std::sort(p.begin(), p.end());
  return p;
}

class LearningSwitchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int p : {3, 4, 5, 6}) sw.add_port(p);
  }
  Ports route(int in, const Mac& dst, const Mac& src, uint64_t now = kT0) {
    return sorted(sw.route(in, frame(dst, src), now));
  }

  LearningSwitch sw;
};

}  // namespace

TEST_F(LearningSwitchTest, UnknownUnicastFloodsToEveryOtherPort) {
  EXPECT_EQ(route(4, kB, kA), (Ports{3, 5, 6}));
  EXPECT_EQ(sw.table_size(), 1u);  // A was learned on the way
}

TEST_F(LearningSwitchTest, LearnedMacGoesToItsPortOnly) {
  route(3, kB, kA);
  EXPECT_EQ(route(5, kA, kB), (Ports{3}));
  EXPECT_EQ(route(3, kB, kA), (Ports{5}));
  EXPECT_EQ(sw.table_size(), 2u);
}

TEST_F(LearningSwitchTest, FrameForAMacOnTheSamePortGoesNowhere) {
  route(3, kB, kA);
  route(3, kA, kB);  // B is on port 3 too (a hub behind it)
  EXPECT_EQ(route(3, kA, kB), Ports{});
}

TEST_F(LearningSwitchTest, StationThatMovesIsFollowed) {
  route(3, kB, kA);
  EXPECT_EQ(route(5, kA, kC), (Ports{3}));
  route(6, kC, kA, kT0 + 1);
  EXPECT_EQ(route(5, kA, kC, kT0 + 2), (Ports{6}));
}

TEST_F(LearningSwitchTest, BroadcastAndMulticastFloodEvenWhenLearned) {
  route(3, kB, kA);
  for (const Mac& group : {kBroadcast, kIpv4Multicast, kIpv6Multicast})
    EXPECT_EQ(route(5, group, kB), (Ports{3, 4, 6}));
}

TEST_F(LearningSwitchTest, GroupSourceAddressIsNotLearned) {
  Mac group_source = kIpv4Multicast;
  EXPECT_EQ(route(3, kA, group_source), (Ports{4, 5, 6}));
  EXPECT_EQ(sw.table_size(), 0u);
  // Even one that differs only in the group bit from a unicast address.
  Mac a_group = kA;
  a_group[0] |= 1;
  route(3, kB, a_group);
  EXPECT_EQ(sw.table_size(), 0u);
  EXPECT_EQ(route(5, kA, kB), (Ports{3, 4, 6}));
}

TEST_F(LearningSwitchTest, EntriesAgeOut) {
  route(3, kB, kA, kT0);
  EXPECT_EQ(route(5, kA, kB, kT0 + LearningSwitch::kAgeNs), (Ports{3}));
  EXPECT_EQ(route(5, kA, kB, kT0 + LearningSwitch::kAgeNs + 1), (Ports{3, 4, 6}));
}

TEST_F(LearningSwitchTest, SendingRefreshesAnEntry) {
  route(3, kB, kA, kT0);
  route(3, kB, kA, kT0 + LearningSwitch::kAgeNs);
  EXPECT_EQ(route(5, kA, kB, kT0 + LearningSwitch::kAgeNs + 1), (Ports{3}));
  EXPECT_EQ(route(5, kA, kB, kT0 + 2 * LearningSwitch::kAgeNs), (Ports{3}));
  EXPECT_EQ(route(5, kA, kB, kT0 + 2 * LearningSwitch::kAgeNs + 1), (Ports{3, 4, 6}));
}

TEST_F(LearningSwitchTest, RemovedPortForgetsItsMacsAndGetsNoFloods) {
  route(4, kB, kA);
  route(5, kA, kB);
  route(4, kB, kC);
  ASSERT_EQ(sw.table_size(), 3u);
  sw.remove_port(4);
  EXPECT_EQ(sw.table_size(), 1u);
  EXPECT_EQ(route(5, kA, kB), (Ports{3, 6}));
  EXPECT_EQ(route(6, kC, kA), (Ports{3, 5}));
  EXPECT_EQ(route(3, kB, kC), (Ports{5}));  // B, on a port that stayed, is still known
}

TEST_F(LearningSwitchTest, TableStopsAtItsLimitUntilEntriesAge) {
  const unsigned half = LearningSwitch::kMaxEntries / 2;
  for (unsigned i = 0; i < half; ++i) route(3, kB, numbered(i), kT0);
  for (unsigned i = half; i < LearningSwitch::kMaxEntries; ++i) route(4, kB, numbered(i), kT0 + 10);
  ASSERT_EQ(sw.table_size(), LearningSwitch::kMaxEntries);

  // Full: a new source is not learned, so frames for it still flood.
  route(5, kB, kA, kT0 + 20);
  EXPECT_EQ(sw.table_size(), LearningSwitch::kMaxEntries);
  EXPECT_EQ(route(6, kA, kB, kT0 + 20), (Ports{3, 4, 5}));
  // A known source is still refreshed and followed when full.
  route(6, kB, numbered(0), kT0 + 20);
  EXPECT_EQ(route(3, numbered(0), kB, kT0 + 20), (Ports{6}));

  // Once the first half (but for the refreshed entry) has aged, a new source
  // makes room by dropping the stale entries.
  uint64_t later = kT0 + 5 + LearningSwitch::kAgeNs;
  route(5, kB, kA, later);
  EXPECT_EQ(sw.table_size(), LearningSwitch::kMaxEntries - half + 2);
  EXPECT_EQ(route(6, kA, kB, later), (Ports{5}));
  EXPECT_EQ(route(6, numbered(half), kB, later), (Ports{4}));
  EXPECT_EQ(route(6, numbered(1), kB, later), (Ports{3, 4, 5}));
}

TEST_F(LearningSwitchTest, RuntFramesAreDroppedUnlearned) {
  for (size_t size : {size_t{0}, size_t{6}, size_t{13}}) {
    std::vector<uint8_t> f = frame(kB, kA, 14);
    f.resize(size);
    EXPECT_EQ(sw.route(3, f, kT0), Ports{}) << size;
  }
  EXPECT_EQ(sw.table_size(), 0u);
  // 14 bytes, a header and nothing else, is a frame.
  EXPECT_EQ(sorted(sw.route(3, frame(kB, kA, 14), kT0)), (Ports{4, 5, 6}));
}

TEST_F(LearningSwitchTest, LonePortFloodsToNobody) {
  LearningSwitch lone;
  lone.add_port(7);
  EXPECT_EQ(lone.route(7, frame(kBroadcast, kA), kT0), Ports{});
}

TEST(ValidSwitchName, Accepted) {
  for (const char* name : {"lan0", "a", "Z", "0", "dmz-2_backup", "-", "_"}) EXPECT_TRUE(valid_switch_name(name)) << name;
  EXPECT_TRUE(valid_switch_name(std::string(64, 'x')));
}

TEST(ValidSwitchName, Refused) {
  for (const char* name : {"", "a/b", "../lan", ".", "..", "a.b", "a b", "lan0\n", "a:b", "caf\xc3\xa9", "a*", "~"})
    EXPECT_FALSE(valid_switch_name(name)) << name;
  EXPECT_FALSE(valid_switch_name(std::string("a\0b", 3)));
  EXPECT_FALSE(valid_switch_name(std::string(65, 'x')));
}
