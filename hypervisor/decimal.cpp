#include "decimal.h"

#include "atoll/hosted_abi.h"

namespace atl::hv {

std::optional<uint64_t> parse_decimal(std::string_view text, uint64_t min, uint64_t max) {
  if (text.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (v < min || v > max) return std::nullopt;
  return v;
}

std::optional<double> parse_decimal_fraction(std::string_view text) {
  size_t dot = text.find('.');
  auto whole = parse_decimal(text.substr(0, dot));
  if (!whole) return std::nullopt;
  double v = static_cast<double>(*whole);
  if (dot == std::string_view::npos) return v;
  std::string_view digits = text.substr(dot + 1);
  if (digits.empty() || digits.size() > 9 || !parse_decimal(digits)) return std::nullopt;
  double scale = 1;
  for (char c : digits) v += (c - '0') * (scale /= 10);
  return v;
}

NumberAndUnit split_unit(std::string_view text, bool fraction) {
  size_t end = 0;
  while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  if (fraction && end < text.size() && text[end] == '.') {
    ++end;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
  }
  return {text.substr(0, end), text.substr(end)};
}

std::optional<uint64_t> parse_memory_size(std::string_view text) {
  auto [number, unit] = split_unit(text);
  uint64_t mult = 0;
  if (unit == "" || unit == "M" || unit == "m" || unit == "MiB") mult = 1ULL << 20;
  else if (unit == "K" || unit == "k" || unit == "KiB") mult = 1ULL << 10;
  else if (unit == "G" || unit == "g" || unit == "GiB") mult = 1ULL << 30;
  if (!mult) return std::nullopt;
  auto v = parse_decimal(number, 1, hosted::kMaxMemory / mult);
  if (!v || *v * mult < hosted::kMinMemory || *v * mult % hosted::kPageSize) return std::nullopt;
  return *v * mult;
}

std::string memory_size_rule() {
  return "a size from 1M to " + std::to_string(hosted::kMaxMemory >> 20) +
         "M in whole 4K pages (a number with K, M or G)";
}

std::string format_memory_size(uint64_t bytes) {
  if (bytes % (1ULL << 20) == 0) return std::to_string(bytes >> 20) + "M";
  return std::to_string(bytes >> 10) + "K";
}

std::string range_text(uint64_t min, uint64_t max) {
  return "from " + std::to_string(min) + " to " + std::to_string(max);
}

}  // namespace atl::hv
