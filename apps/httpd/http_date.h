// HTTP dates (RFC 9110 section 5.6.7): our own calendar arithmetic, so the server
// needs neither timegm nor strptime, which the guest's C library does not promise.
#pragma once

#include <time.h>

#include <optional>
#include <string>
#include <string_view>

namespace atl::httpd {

// "Sun, 06 Nov 1994 08:49:37 GMT" (IMF-fixdate), the only form we send.
std::string format_http_date(time_t t);

// Accepts all three forms a recipient must: IMF-fixdate, obsolete RFC 850
// ("Sunday, 06-Nov-94 08:49:37 GMT") and asctime ("Sun Nov  6 08:49:37 1994").
// The weekday is not cross-checked. nullopt for anything else.
std::optional<time_t> parse_http_date(std::string_view text);

// "06/Nov/1994:08:49:37 +0000", the timestamp of the common log format.
std::string format_log_date(time_t t);

// Days since 1970-01-01 for a proleptic Gregorian date (month 1..12), and back.
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);
void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day);

}  // namespace atl::httpd
