#include "http_date.h"

#include <stdio.h>

namespace atl::httpd {
namespace {

constexpr const char* k_weekdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* k_long_weekdays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                           "Thursday", "Friday", "Saturday"};
constexpr const char* k_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second, weekday;
};

Civil to_civil(time_t t) {
  int64_t secs = t;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  Civil c{};
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = static_cast<unsigned>(rem / 3600);
  c.minute = static_cast<unsigned>(rem / 60 % 60);
  c.second = static_cast<unsigned>(rem % 60);
  int64_t wd = (days + 4) % 7;  // 1970-01-01 was a Thursday
  c.weekday = static_cast<unsigned>(wd < 0 ? wd + 7 : wd);
  return c;
}

// A small cursor over the text; every take_* fails without consuming on mismatch.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : m_s(s) {}
  bool done() const { return m_s.empty(); }
  bool take(std::string_view lit) {
    if (m_s.substr(0, lit.size()) != lit) return false;
    m_s.remove_prefix(lit.size());
    return true;
  }
  // Exactly `width` digits, or 1..width when `exact` is false.
  bool take_number(unsigned width, bool exact, int64_t& out) {
    size_t n = 0;
    int64_t v = 0;
    while (n < width && n < m_s.size() && m_s[n] >= '0' && m_s[n] <= '9') v = v * 10 + (m_s[n++] - '0');
    if (n == 0 || (exact && n != width)) return false;
    m_s.remove_prefix(n);
    out = v;
    return true;
  }
  bool take_name(const char* const* names, unsigned count, unsigned& index) {
    for (unsigned i = 0; i < count; ++i) {
      if (take(names[i])) {
        index = i;
        return true;
      }
    }
    return false;
  }
  bool take_time(int64_t& h, int64_t& m, int64_t& s) {
    return take_number(2, true, h) && take(":") && take_number(2, true, m) && take(":") && take_number(2, true, s);
  }

 private:
  std::string_view m_s;
};

std::optional<time_t> assemble(int64_t year, unsigned month, int64_t day, int64_t h, int64_t m, int64_t s) {
  static constexpr unsigned k_days_in_month[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > k_days_in_month[month - 1]) return std::nullopt;
  if (h > 23 || m > 59 || s > 60) return std::nullopt;  // 60: a leap second, folded below
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return std::nullopt;
  int64_t days = days_from_civil(year, month, static_cast<unsigned>(day));
  return static_cast<time_t>(days * 86400 + h * 3600 + m * 60 + (s == 60 ? 59 : s));
}

std::optional<time_t> parse_imf_fixdate(std::string_view text) {
  Scanner sc(text);
  unsigned wd, mon;
  int64_t day, year, h, m, s;
  if (!sc.take_name(k_weekdays, 7, wd) || !sc.take(", ") || !sc.take_number(2, true, day) || !sc.take(" ") ||
      !sc.take_name(k_months, 12, mon) || !sc.take(" ") || !sc.take_number(4, true, year) || !sc.take(" ") ||
      !sc.take_time(h, m, s) || !sc.take(" GMT") || !sc.done())
    return std::nullopt;
  return assemble(year, mon + 1, day, h, m, s);
}

std::optional<time_t> parse_rfc850(std::string_view text) {
  Scanner sc(text);
  unsigned wd, mon;
  int64_t day, year, h, m, s;
  if (!sc.take_name(k_long_weekdays, 7, wd) || !sc.take(", ") || !sc.take_number(2, true, day) || !sc.take("-") ||
      !sc.take_name(k_months, 12, mon) || !sc.take("-") || !sc.take_number(2, true, year) || !sc.take(" ") ||
      !sc.take_time(h, m, s) || !sc.take(" GMT") || !sc.done())
    return std::nullopt;
  // RFC 9110: a two-digit year more than 50 years in the future is in the past
  // century. Fixed pivot instead of "now": 00-69 -> 20xx, 70-99 -> 19xx.
  year += year < 70 ? 2000 : 1900;
  return assemble(year, mon + 1, day, h, m, s);
}

std::optional<time_t> parse_asctime(std::string_view text) {
  Scanner sc(text);
  unsigned wd, mon;
  int64_t day, year, h, m, s;
  if (!sc.take_name(k_weekdays, 7, wd) || !sc.take(" ") || !sc.take_name(k_months, 12, mon) || !sc.take(" "))
    return std::nullopt;
  // The day is space-padded: "Nov  6" or "Nov 16".
  if (sc.take(" ") ? !sc.take_number(1, true, day) : !sc.take_number(2, true, day)) return std::nullopt;
  if (!sc.take(" ") || !sc.take_time(h, m, s) || !sc.take(" ") || !sc.take_number(4, true, year) || !sc.done())
    return std::nullopt;
  return assemble(year, mon + 1, day, h, m, s);
}

}  // namespace

// Howard Hinnant's days_from_civil / civil_from_days, valid far beyond time_t.
int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  year -= month <= 2;
  const int64_t era = (year >= 0 ? year : year - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void civil_from_days(int64_t days, int64_t& year, unsigned& month, unsigned& day) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = static_cast<int64_t>(yoe) + era * 400 + (month <= 2);
}

std::string format_http_date(time_t t) {
  Civil c = to_civil(t);
  char buf[64];
  snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02u:%02u:%02u GMT", k_weekdays[c.weekday], c.day,
           k_months[c.month - 1], static_cast<long long>(c.year), c.hour, c.minute, c.second);
  return buf;
}

std::string format_log_date(time_t t) {
  Civil c = to_civil(t);
  char buf[64];
  snprintf(buf, sizeof buf, "%02u/%s/%04lld:%02u:%02u:%02u +0000", c.day, k_months[c.month - 1],
           static_cast<long long>(c.year), c.hour, c.minute, c.second);
  return buf;
}

std::optional<time_t> parse_http_date(std::string_view text) {
  if (auto t = parse_imf_fixdate(text)) return t;
  if (auto t = parse_rfc850(text)) return t;
  return parse_asctime(text);
}

}  // namespace atl::httpd
