// Single byte ranges: the three forms, clamping, and what is unsatisfiable or ignored.
#include <gtest/gtest.h>

#include "range.h"

namespace atl::httpd {
namespace {

using Kind = ByteRange::Kind;

void expect_range(const char* header, uint64_t size, uint64_t first, uint64_t last) {
  ByteRange r = parse_range(header, size);
  ASSERT_EQ(r.kind, Kind::Satisfiable) << header;
  EXPECT_EQ(r.first, first) << header;
  EXPECT_EQ(r.last, last) << header;
}

TEST(Range, ParsesTheThreeForms) {
  expect_range("bytes=0-499", 1000, 0, 499);
  expect_range("bytes=500-", 1000, 500, 999);
  expect_range("bytes=-100", 1000, 900, 999);
  expect_range("Bytes = 10 - 19 ", 1000, 10, 19);
  EXPECT_EQ(parse_range("bytes=0-499", 1000).length(), 500u);
}

TEST(Range, ClampsToTheFile) {
  expect_range("bytes=990-2000", 1000, 990, 999);
  expect_range("bytes=-5000", 1000, 0, 999);
  expect_range("bytes=0-99999999999999999999999", 1000, 0, 999);
}

TEST(Range, UnsatisfiableRanges) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=5000-6000", 1000).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::Unsatisfiable);
  EXPECT_EQ(parse_range("bytes=99999999999999999999999-", 1000).kind, Kind::Unsatisfiable);
}

TEST(Range, IgnoresWhatItCannotHonour) {
  for (const char* ignored : {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-1", "items=0-1",
                              "bytes=0-1,5-6", "bytes=1-2-3", "bytes 0-1"})
    EXPECT_EQ(parse_range(ignored, 1000).kind, Kind::Ignore) << ignored;
}

}  // namespace
}  // namespace atl::httpd
