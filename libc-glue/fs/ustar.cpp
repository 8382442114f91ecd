// Decoding of ustar header fields and pax records; see ustar.h.
#include "ustar.h"

#include <string.h>

namespace atl::fs::ustar {

namespace {

constexpr int64_t kMax = INT64_MAX;

bool is_blank(char c) { return c == ' ' || c == '\0'; }

std::optional<int64_t> parse_base256(const unsigned char* p, size_t len) {
  if (p[0] != 0x80) return std::nullopt;  // 0xff (negative) and others: refused
  int64_t value = 0;
  for (size_t i = 1; i < len; ++i) {
    if (value > (kMax >> 8)) return std::nullopt;
    value = (value << 8) | p[i];
  }
  return value;
}

}  // namespace

Magic magic_of(const Header& h) {
  if (memcmp(h.magic, "ustar", 6) == 0 && memcmp(h.version, "00", 2) == 0) return Magic::kPosix;
  if (memcmp(h.magic, "ustar ", 6) == 0 && memcmp(h.version, " ", 2) == 0) return Magic::kGnu;
  return Magic::kNone;
}

bool is_zero_block(const Header& h) {
  const auto* p = reinterpret_cast<const unsigned char*>(&h);
  for (size_t i = 0; i < kBlockSize; ++i) {
    if (p[i]) return false;
  }
  return true;
}

bool checksum_ok(const Header& h) {
  std::optional<int64_t> stored = parse_number(h.chksum, sizeof h.chksum);
  if (!stored) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(&h);
  int64_t unsigned_sum = 0;
  int64_t signed_sum = 0;
  for (size_t i = 0; i < kBlockSize; ++i) {
    bool in_chksum = i >= offsetof(Header, chksum) && i < offsetof(Header, chksum) + sizeof h.chksum;
    unsigned char c = in_chksum ? ' ' : p[i];
    unsigned_sum += c;
    signed_sum += static_cast<signed char>(c);
  }
  return *stored == unsigned_sum || *stored == signed_sum;
}

std::optional<int64_t> parse_number(const char* field, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(field);
  if (len > 0 && (p[0] & 0x80)) return parse_base256(p, len);
  size_t i = 0;
  while (i < len && field[i] == ' ') ++i;
  size_t first_digit = i;
  int64_t value = 0;
  for (; i < len && field[i] >= '0' && field[i] <= '7'; ++i) {
    if (value > (kMax >> 3)) return std::nullopt;
    value = (value << 3) | (field[i] - '0');
  }
  if (i == first_digit) return std::nullopt;
  for (; i < len; ++i) {
    if (!is_blank(field[i])) return std::nullopt;
  }
  return value;
}

std::string_view field_string(const char* field, size_t len) {
  const void* nul = memchr(field, '\0', len);
  return {field, nul ? static_cast<size_t>(static_cast<const char*>(nul) - field) : len};
}

std::string member_name(const Header& h) {
  std::string name(field_string(h.name, sizeof h.name));
  if (magic_of(h) != Magic::kPosix) return name;
  std::string_view prefix = field_string(h.prefix, sizeof h.prefix);
  if (prefix.empty()) return name;
  return std::string(prefix) + "/" + name;
}

uint64_t data_bytes(char typeflag, uint64_t size) {
  switch (typeflag) {
    case kHardLink:
    case kSymlink:
    case kCharDev:
    case kBlockDev:
    case kDirectory:
    case kFifo:
      return 0;
    default:
      return size;
  }
}

std::optional<std::vector<PaxRecord>> parse_pax(std::string_view data) {
  std::vector<PaxRecord> records;
  while (!data.empty() && data.front() != '\0') {
    size_t space = data.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    std::optional<uint64_t> len = parse_decimal(data.substr(0, space));
    // The shortest record is "5 k=\n".
    if (!len || *len < space + 3 || *len > data.size()) return std::nullopt;
    std::string_view record = data.substr(space + 1, *len - space - 1);
    if (record.back() != '\n') return std::nullopt;
    record.remove_suffix(1);
    size_t eq = record.find('=');
    if (eq == std::string_view::npos || eq == 0) return std::nullopt;
    records.push_back({record.substr(0, eq), record.substr(eq + 1)});
    data.remove_prefix(*len);
  }
  for (char c : data) {
    if (c != '\0') return std::nullopt;
  }
  return records;
}

std::optional<uint64_t> parse_decimal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

std::optional<int64_t> parse_pax_time(std::string_view text) {
  bool negative = !text.empty() && text.front() == '-';
  if (negative) text.remove_prefix(1);
  size_t dot = text.find('.');
  if (dot != std::string_view::npos) {
    std::string_view fraction = text.substr(dot + 1);
    if (fraction.empty()) return std::nullopt;
    for (char c : fraction) {
      if (c < '0' || c > '9') return std::nullopt;
    }
    text = text.substr(0, dot);
  }
  std::optional<uint64_t> seconds = parse_decimal(text);
  if (!seconds || *seconds > static_cast<uint64_t>(kMax)) return std::nullopt;
  int64_t value = static_cast<int64_t>(*seconds);
  return negative ? -value : value;
}

}  // namespace atl::fs::ustar
