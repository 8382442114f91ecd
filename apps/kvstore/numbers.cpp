#include "numbers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <charconv>
#include <cmath>

namespace kv {

std::optional<int64_t> parse_int(std::string_view s) {
  // Redis: at most 20 characters ("-9223372036854775808"), digits only.
  if (s.empty() || s.size() > 20) return std::nullopt;
  if (s == "0") return 0;
  bool negative = s[0] == '-';
  if (negative) s.remove_prefix(1);
  if (s.empty() || s[0] < '1' || s[0] > '9') return std::nullopt;
  uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(ch - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > uint64_t(INT64_MAX) + 1) return std::nullopt;
    return static_cast<int64_t>(0 - v);
  }
  if (v > uint64_t(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(v);
}

void append_int(std::string& out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;  // 24 bytes always hold an int64
  out.append(buf, end);
}

std::string int_to_string(int64_t v) {
  std::string s;
  append_int(s, v);
  return s;
}

std::optional<uint64_t> parse_size(std::string_view s) {
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr == s.data()) return std::nullopt;
  std::string_view unit(ptr, s.data() + s.size() - ptr);
  unsigned shift = 0;
  if (unit.empty() || equals_lower(unit, "b")) shift = 0;
  else if (equals_lower(unit, "k") || equals_lower(unit, "kb")) shift = 10;
  else if (equals_lower(unit, "m") || equals_lower(unit, "mb")) shift = 20;
  else if (equals_lower(unit, "g") || equals_lower(unit, "gb")) shift = 30;
  else return std::nullopt;
  if (v > (UINT64_MAX >> shift)) return std::nullopt;
  return v << shift;
}

std::optional<double> parse_double(std::string_view s) {
  if (s.empty() || s.size() > 128 || s[0] == ' ' || s[0] == '\t') return std::nullopt;
  char buf[130];
  memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  char* end = nullptr;
  double v = strtod(buf, &end);
  if (end != buf + s.size() || std::isnan(v)) return std::nullopt;
  return v;
}

std::string double_to_string(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  for (int digits : {15, 16, 17}) {
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    if (strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string human_size(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < sizeof kUnits / sizeof kUnits[0]) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0) snprintf(buf, sizeof buf, "%lluB", static_cast<unsigned long long>(bytes));
  else snprintf(buf, sizeof buf, "%.2f%s", v, kUnits[unit]);
  return buf;
}

bool equals_lower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace kv
