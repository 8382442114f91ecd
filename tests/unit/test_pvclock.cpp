// pvclock scaling: the (mul, shift) pair the hypervisor publishes must turn TSC
// ticks into nanoseconds to within 1 ppm at every frequency we meet, and must not
// overflow for long intervals.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "atoll/pvclock.h"

namespace atl::pvclock {
namespace {

constexpr uint64_t kNsPerSec = 1000000000ULL;

// |actual - expected| / expected, in parts per million.
double ppm_error(uint64_t actual, double expected) { return std::fabs(static_cast<double>(actual) - expected) / expected * 1e6; }

class PvclockFrequency : public ::testing::TestWithParam<uint64_t> {};

TEST_P(PvclockFrequency, MulIsNormalised) {
  Scale s = scale_for_frequency(GetParam());
  EXPECT_GE(s.mul, 1u << 31) << "mul should keep 32 bits of precision";
}

TEST_P(PvclockFrequency, OneSecondOfTicksIsOneSecond) {
  uint64_t hz = GetParam();
  Scale s = scale_for_frequency(hz);
  uint64_t ns = scale_delta(hz, s.mul, s.shift);
  EXPECT_LE(ppm_error(ns, 1e9), 1.0) << hz << " Hz: mul " << s.mul << " shift " << int{s.shift} << " gives " << ns;
}

TEST_P(PvclockFrequency, OneMillisecondOfTicks) {
  uint64_t hz = GetParam();
  Scale s = scale_for_frequency(hz);
  uint64_t ns = scale_delta(hz / 1000, s.mul, s.shift);
  double expected = static_cast<double>(hz / 1000) * 1e9 / static_cast<double>(hz);
  // One nanosecond of truncation is allowed on top of 1 ppm.
  EXPECT_LE(std::fabs(static_cast<double>(ns) - expected), expected * 1e-6 + 1.0);
}

TEST_P(PvclockFrequency, DaysOfTicksDoNotOverflow) {
  uint64_t hz = GetParam();
  Scale s = scale_for_frequency(hz);
  for (uint64_t seconds : {3600ULL, 24 * 3600ULL, 7 * 24 * 3600ULL}) {
    uint64_t ns = scale_delta(hz * seconds, s.mul, s.shift);
    EXPECT_LE(ppm_error(ns, static_cast<double>(seconds) * 1e9), 1.0) << hz << " Hz over " << seconds << " s gives " << ns;
  }
}

TEST_P(PvclockFrequency, IsMonotonic) {
  uint64_t hz = GetParam();
  Scale s = scale_for_frequency(hz);
  uint64_t prev = 0;
  for (uint64_t d = hz - 1000; d < hz + 1000; ++d) {
    uint64_t ns = scale_delta(d, s.mul, s.shift);
    ASSERT_GE(ns, prev) << "delta " << d;
    prev = ns;
  }
}

TEST_P(PvclockFrequency, FrequencyOfInvertsScale) {
  uint64_t hz = GetParam();
  uint64_t back = frequency_of(scale_for_frequency(hz));
  EXPECT_LE(ppm_error(back, static_cast<double>(hz)), 1.0) << hz << " Hz came back as " << back;
}

INSTANTIATE_TEST_SUITE_P(Frequencies, PvclockFrequency,
                         ::testing::Values(1000000ULL, 100000000ULL, 1000000000ULL, 2595000000ULL, 3700000000ULL,
                                           5000000000ULL),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return std::to_string(info.param / 1000000) + "MHz";
                         });

TEST(Pvclock, ShiftSignFollowsFrequency) {
  // Below 1 GHz a tick is longer than 1 ns, so the delta is shifted left.
  EXPECT_GT(scale_for_frequency(1000000).shift, 0);
  EXPECT_GT(scale_for_frequency(100000000).shift, 0);
  // Above 2 GHz the delta must be shifted right for mul < 2^32 to suffice.
  EXPECT_LT(scale_for_frequency(2595000000ULL).shift, 0);
  EXPECT_LT(scale_for_frequency(3700000000ULL).shift, 0);
  EXPECT_LT(scale_for_frequency(5000000000ULL).shift, 0);
}

TEST(Pvclock, OneGigahertzIsExact) {
  Scale s = scale_for_frequency(kNsPerSec);
  EXPECT_EQ(s.mul, 1u << 31);
  EXPECT_EQ(s.shift, 1);
  EXPECT_EQ(scale_delta(kNsPerSec, s.mul, s.shift), kNsPerSec);
  EXPECT_EQ(scale_delta(12345, s.mul, s.shift), 12345u);
  EXPECT_EQ(frequency_of(s), kNsPerSec);
}

TEST(Pvclock, ScaleDeltaPositiveShift) {
  // (1000 << 1) * 2^31 >> 32 == 1000
  EXPECT_EQ(scale_delta(1000, 1u << 31, 1), 1000u);
  EXPECT_EQ(scale_delta(1000, 1u << 31, 3), 4000u);
  EXPECT_EQ(scale_delta(1000, 1u << 31, 0), 500u);
}

TEST(Pvclock, ScaleDeltaNegativeShiftIsRightShift) {
  EXPECT_EQ(scale_delta(1000, 1u << 31, -1), 250u);
  EXPECT_EQ(scale_delta(1000, 1u << 31, -2), 125u);
  // The shift happens before the multiply, so low bits are dropped first.
  EXPECT_EQ(scale_delta(3, 0xFFFFFFFFu, -1), 0u);
  EXPECT_EQ(scale_delta(4, 0xFFFFFFFFu, -1), 1u);
}

TEST(Pvclock, ScaleDeltaProductUses128Bits) {
  // (2^64 - 1) * (2^32 - 1) >> 32 would overflow a 64-bit multiply.
  EXPECT_EQ(scale_delta(UINT64_MAX, 0xFFFFFFFFu, 0), 0xFFFFFFFEFFFFFFFFULL);
  EXPECT_EQ(scale_delta(1ULL << 40, 1u << 31, 0), 1ULL << 39);
}

TEST(Pvclock, ScaleDeltaZero) {
  Scale s = scale_for_frequency(2595000000ULL);
  EXPECT_EQ(scale_delta(0, s.mul, s.shift), 0u);
}

TEST(Pvclock, FrequencyOfKnownPairs) {
  EXPECT_EQ(frequency_of({1u << 31, 1}), kNsPerSec);
  EXPECT_EQ(frequency_of({1u << 31, 0}), 2 * kNsPerSec);
  EXPECT_EQ(frequency_of({1u << 31, -1}), 4 * kNsPerSec);
  EXPECT_EQ(frequency_of({1u << 31, 2}), kNsPerSec / 2);
}

}  // namespace
}  // namespace atl::pvclock
