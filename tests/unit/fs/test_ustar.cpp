// ustar field decoding: numeric fields (octal, base-256, junk), checksums,
// magic, names with and without prefix, and pax records.
#include <gtest/gtest.h>

#include <string>

#include "ustar.h"
#include "ustar_writer.h"

using namespace atl::fs;
using atl::fs::testing::TarWriter;

namespace {

std::optional<int64_t> num(std::string_view field) { return ustar::parse_number(field.data(), field.size()); }

}  // namespace

TEST(UstarNumber, OctalWithTheUsualTerminators) {
  EXPECT_EQ(num(std::string("0000644\0", 8)), 0644);
  EXPECT_EQ(num("00000001750 "), 01750);
  EXPECT_EQ(num(std::string("   755\0\0", 8)), 0755);
  EXPECT_EQ(num("777777777777"), 0777777777777);  // every byte a digit: allowed
}

TEST(UstarNumber, JunkIsRefused) {
  EXPECT_FALSE(num("0000z644"));
  EXPECT_FALSE(num(std::string("0000648\0", 8)));  // 8 is not octal
  EXPECT_FALSE(num(std::string("12 34\0\0\0", 8)));  // a digit after the terminator
  EXPECT_FALSE(num(std::string("\0\0\0\0\0\0\0\0", 8)));  // no digits at all
  EXPECT_FALSE(num("-0000001"));
}

TEST(UstarNumber, Base256) {
  std::string big(12, '\0');
  big[0] = static_cast<char>(0x80);
  big[7] = 0x02;  // 2 << 32
  EXPECT_EQ(num(big), int64_t{2} << 32);
  std::string negative(12, static_cast<char>(0xff));
  EXPECT_FALSE(num(negative));
  std::string huge(12, static_cast<char>(0x7f));
  huge[0] = static_cast<char>(0x80);
  EXPECT_FALSE(num(huge));  // does not fit 63 bits
}

TEST(UstarHeader, ChecksumAndMagic) {
  TarWriter w;
  size_t at = w.file("a.txt", "hello");
  ustar::Header& h = w.header_at(at);
  EXPECT_TRUE(ustar::checksum_ok(h));
  EXPECT_EQ(ustar::magic_of(h), ustar::Magic::kPosix);
  h.name[0] = 'b';
  EXPECT_FALSE(ustar::checksum_ok(h));
  w.seal(at);
  EXPECT_TRUE(ustar::checksum_ok(h));
  memcpy(h.magic, "nottar", 6);
  w.seal(at);
  EXPECT_EQ(ustar::magic_of(h), ustar::Magic::kNone);
}

TEST(UstarHeader, SignedChecksumOfHistoricTarsIsAccepted) {
  TarWriter w;
  size_t at = w.header("caf\xc3\xa9", ustar::kRegular, 0);
  ustar::Header& h = w.header_at(at);
  // Sum the bytes as signed chars, as some old tars did.
  memset(h.chksum, ' ', sizeof h.chksum);
  int sum = 0;
  const auto* p = reinterpret_cast<const signed char*>(&h);
  for (size_t i = 0; i < sizeof h; ++i) sum += p[i];
  snprintf(h.chksum, sizeof h.chksum, "%06o", sum);
  EXPECT_TRUE(ustar::checksum_ok(h));
}

TEST(UstarHeader, PrefixOnlyForPosixMagic) {
  TarWriter w;
  size_t posix = w.header("name", ustar::kRegular, 0, {}, TarWriter::Magic::kPosix, "some/prefix");
  size_t gnu = w.header("name", ustar::kRegular, 0, {}, TarWriter::Magic::kGnu, "some/prefix");
  EXPECT_EQ(ustar::member_name(w.header_at(posix)), "some/prefix/name");
  EXPECT_EQ(ustar::member_name(w.header_at(gnu)), "name");
}

TEST(UstarHeader, FullWidthNameHasNoNul) {
  TarWriter w;
  std::string hundred(100, 'n');
  size_t at = w.header(hundred, ustar::kRegular, 0);
  EXPECT_EQ(ustar::member_name(w.header_at(at)), hundred);
}

TEST(UstarPax, Records) {
  std::string text = TarWriter::record("path", "a/b c") + TarWriter::record("size", "42");
  auto records = ustar::parse_pax(text);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 2u);
  EXPECT_EQ((*records)[0].key, "path");
  EXPECT_EQ((*records)[0].value, "a/b c");
  EXPECT_EQ((*records)[1].value, "42");
}

TEST(UstarPax, ValueMayHoldNewlinesAndEquals) {
  std::string text = TarWriter::record("comment", "x=1\ny=2");
  auto records = ustar::parse_pax(text);
  ASSERT_TRUE(records);
  EXPECT_EQ((*records)[0].value, "x=1\ny=2");
}

TEST(UstarPax, MalformedRecordsAreRefused) {
  EXPECT_FALSE(ustar::parse_pax("13 path=abc\n"));      // length past the data
  EXPECT_FALSE(ustar::parse_pax("11 path=abc"));        // no newline
  EXPECT_FALSE(ustar::parse_pax("99 path=abc\n"));      // beyond the data
  EXPECT_FALSE(ustar::parse_pax("x2 path=abc\n"));      // length not decimal
  EXPECT_FALSE(ustar::parse_pax("11 pathabc\n"));       // no '='
  EXPECT_FALSE(ustar::parse_pax("0 \n"));
  EXPECT_FALSE(ustar::parse_pax("12 path=abc\njunk"));  // junk after the records
  EXPECT_TRUE(ustar::parse_pax(std::string("12 path=abc\n\0\0", 14)));
}

TEST(UstarPax, Numbers) {
  EXPECT_EQ(ustar::parse_decimal("18446744073709551615"), UINT64_MAX);
  EXPECT_FALSE(ustar::parse_decimal("18446744073709551616"));
  EXPECT_FALSE(ustar::parse_decimal("12a"));
  EXPECT_FALSE(ustar::parse_decimal(""));
  EXPECT_EQ(ustar::parse_pax_time("1700000000.123456789"), 1700000000);
  EXPECT_EQ(ustar::parse_pax_time("-5"), -5);
  EXPECT_FALSE(ustar::parse_pax_time("1.2.3"));
  EXPECT_FALSE(ustar::parse_pax_time("12."));
}
