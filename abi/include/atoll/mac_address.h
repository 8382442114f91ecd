// Ethernet addresses in xenstore's text form ("00:16:3e:0a:0b:0c"), parsed
// strictly: six groups of one or two hex digits separated by ':', nothing
// else. Header-only; netfront (guest) and netback's --net parser (host) share it.
#pragma once

#include <stdint.h>

#include <array>
#include <optional>
#include <string_view>

namespace atl {

using MacAddress = std::array<uint8_t, 6>;

inline std::optional<MacAddress> parse_mac(std::string_view text) {
  MacAddress mac{};
  size_t at = 0;
  for (size_t i = 0; i < mac.size(); ++i) {
    if (i > 0) {
      if (at >= text.size() || text[at] != ':') return std::nullopt;
      ++at;
    }
    unsigned value = 0, digits = 0;
    for (; at < text.size() && digits < 3; ++at, ++digits) {
      char c = text[at];
      unsigned d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : 16;
      if (d == 16) break;
      value = value * 16 + d;
    }
    if (digits == 0 || digits > 2) return std::nullopt;
    mac[i] = static_cast<uint8_t>(value);
  }
  if (at != text.size()) return std::nullopt;
  return mac;
}

// A group (multicast or broadcast) address: never a valid source.
inline bool is_group_address(const MacAddress& mac) { return (mac[0] & 1) != 0; }

}  // namespace atl
