// The host side's one reader of decimal numbers: command-line options,
// --net/--disk items and the numbers guests write into xenstore all go
// through it, so "12abc", "-1", " 7", "0x10" and overflow are refused the same
// way everywhere (strtoul takes a sign and spaces, stoul throws).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace atl::hv {

// Digits only, nothing around them, and the value within [min, max].
std::optional<uint64_t> parse_decimal(std::string_view text, uint64_t min = 0, uint64_t max = UINT64_MAX);

// Digits with an optional fraction ("1.5"), for rates; no sign, no exponent.
std::optional<double> parse_decimal_fraction(std::string_view text);

// Splits "512K" into "512" and "K": the leading digits (and, with
// `fraction`, one '.' followed by digits) and whatever follows.
struct NumberAndUnit {
  std::string_view number;
  std::string_view unit;
};
NumberAndUnit split_unit(std::string_view text, bool fraction = false);

// A guest memory size: a whole number and K, M or G (M when there is none),
// from kMinMemory to kMaxMemory in whole 4 KiB pages (atoll/hosted_abi.h).
// `atoll run --memory` and an image manifest's `memory` both read it.
std::optional<uint64_t> parse_memory_size(std::string_view text);
// What parse_memory_size takes, for error messages.
std::string memory_size_rule();
// 16 MiB as "16M", 1536 KiB as "1536K": the shortest form parse_memory_size reads back.
std::string format_memory_size(uint64_t bytes);

// "from MIN to MAX" for error messages.
std::string range_text(uint64_t min, uint64_t max);

}  // namespace atl::hv
