// HTTP dates: our calendar arithmetic against known instants and all three forms.
#include <gtest/gtest.h>

#include "http_date.h"

namespace atl::httpd {
namespace {

constexpr time_t k_rfc_example = 784111777;  // Sun, 06 Nov 1994 08:49:37 GMT

TEST(HttpDate, FormatsImfFixdate) {
  EXPECT_EQ(format_http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(format_http_date(k_rfc_example), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(format_http_date(951782400), "Tue, 29 Feb 2000 00:00:00 GMT");
  EXPECT_EQ(format_http_date(4102444799), "Thu, 31 Dec 2099 23:59:59 GMT");
}

TEST(HttpDate, FormatsTheLogTimestamp) { EXPECT_EQ(format_log_date(k_rfc_example), "06/Nov/1994:08:49:37 +0000"); }

TEST(HttpDate, ParsesAllThreeForms) {
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), k_rfc_example);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), k_rfc_example);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), k_rfc_example);
  EXPECT_EQ(parse_http_date("Wed Nov 16 08:49:37 1994"), k_rfc_example + 10 * 86400);
}

TEST(HttpDate, RoundTripsAcrossTheCalendar) {
  for (time_t t = 0; t < 4'000'000'000; t += 86'400 * 37 + 3'601)
    EXPECT_EQ(parse_http_date(format_http_date(t)), t) << format_http_date(t);
}

TEST(HttpDate, CivilDaysAgreeAtKnownPoints) {
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(days_from_civil(1969, 12, 31), -1);
  int64_t y;
  unsigned m, d;
  civil_from_days(11016, y, m, d);
  EXPECT_EQ(y, 2000);
  EXPECT_EQ(m, 2u);
  EXPECT_EQ(d, 29u);
}

TEST(HttpDate, RejectsMalformedDates) {
  for (const char* bad : {"", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
                          "Sun, 31 Feb 1994 08:49:37 GMT", "Sun, 29 Feb 1900 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT",
                          "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT trailing", "yesterday",
                          "Sun Nov 6 08:49:37 1994"})
    EXPECT_FALSE(parse_http_date(bad).has_value()) << bad;
}

}  // namespace
}  // namespace atl::httpd
