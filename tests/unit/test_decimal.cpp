// The host side's decimal reader (hypervisor/decimal.h): digits only, ranges,
// overflow, fractions for rates, and the number/unit split.
#include <gtest/gtest.h>

#include "decimal.h"

using namespace atl::hv;

TEST(Decimal, ReadsDigitsOnly) {
  EXPECT_EQ(parse_decimal("0"), 0u);
  EXPECT_EQ(parse_decimal("42"), 42u);
  EXPECT_EQ(parse_decimal("007"), 7u);
  EXPECT_EQ(parse_decimal("18446744073709551615"), UINT64_MAX);
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "0x10", "1e3", "1.0", "abc", "12abc", "18446744073709551616",
                          "99999999999999999999999"})
    EXPECT_FALSE(parse_decimal(bad)) << bad;
}

TEST(Decimal, ChecksTheRange) {
  EXPECT_EQ(parse_decimal("1", 1, 16), 1u);
  EXPECT_EQ(parse_decimal("16", 1, 16), 16u);
  EXPECT_FALSE(parse_decimal("0", 1, 16));
  EXPECT_FALSE(parse_decimal("17", 1, 16));
  EXPECT_FALSE(parse_decimal("4294967312", 1, 16));  // 16 + 2^32: no truncation first
}

TEST(Decimal, ReadsFractions) {
  EXPECT_DOUBLE_EQ(*parse_decimal_fraction("1.5"), 1.5);
  EXPECT_DOUBLE_EQ(*parse_decimal_fraction("10"), 10.0);
  EXPECT_DOUBLE_EQ(*parse_decimal_fraction("0.25"), 0.25);
  for (const char* bad : {"", ".5", "1.", "1.2.3", "-1.5", "1e3", "inf", "nan", "0x1p3", "1.-5"})
    EXPECT_FALSE(parse_decimal_fraction(bad)) << bad;
}

TEST(Decimal, SplitsNumberAndUnit) {
  auto s = split_unit("512K");
  EXPECT_EQ(s.number, "512");
  EXPECT_EQ(s.unit, "K");
  s = split_unit("1.5MB/s");
  EXPECT_EQ(s.number, "1");
  EXPECT_EQ(s.unit, ".5MB/s");
  s = split_unit("1.5MB/s", true);
  EXPECT_EQ(s.number, "1.5");
  EXPECT_EQ(s.unit, "MB/s");
  s = split_unit("-1M");
  EXPECT_EQ(s.number, "");
  EXPECT_EQ(s.unit, "-1M");
  EXPECT_EQ(range_text(1, 16), "from 1 to 16");
}
