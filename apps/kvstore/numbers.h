// Number parsing and formatting with Redis's exact rules: an integer argument
// or value is what Redis's string2ll() accepts (no spaces, no '+', no leading
// zeros, fits a signed 64-bit integer), and sizes on the command line take
// K/M/G suffixes.
#pragma once

#include <stdint.h>

#include <optional>
#include <string>
#include <string_view>

namespace kv {

std::optional<int64_t> parse_int(std::string_view s);
void append_int(std::string& out, int64_t v);
std::string int_to_string(int64_t v);

// A score as Redis takes it (strtod, with inf, +inf and -inf; no NaN, no
// spaces), and the shortest text that reads back as the same double.
std::optional<double> parse_double(std::string_view s);
std::string double_to_string(double v);

// "4096", "64K", "64M", "1G" (also "64kb", "64mb"; binary multiples).
std::optional<uint64_t> parse_size(std::string_view s);
// "1.50M" style, as INFO's used_memory_human.
std::string human_size(uint64_t bytes);

// ASCII case-insensitive equality; `lower` must already be lower case.
bool equals_lower(std::string_view s, std::string_view lower);

}  // namespace kv
