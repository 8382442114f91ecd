#include "range.h"

#include "ascii.h"

namespace atl::httpd {
namespace {

// Digits only; saturates at UINT64_MAX so an absurd position is simply out of range.
bool parse_position(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    unsigned d = static_cast<unsigned>(c - '0');
    v = v > (UINT64_MAX - d) / 10 ? UINT64_MAX : v * 10 + d;
  }
  out = v;
  return true;
}

}  // namespace

ByteRange parse_range(std::string_view header, uint64_t size) {
  ByteRange r;
  size_t eq = header.find('=');
  if (eq == std::string_view::npos || !iequals(trim_ows(header.substr(0, eq)), "bytes")) return r;
  std::string_view spec = trim_ows(header.substr(eq + 1));
  if (spec.find(',') != std::string_view::npos) return r;  // several ranges: whole body
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return r;
  std::string_view first_text = trim_ows(spec.substr(0, dash));
  std::string_view last_text = trim_ows(spec.substr(dash + 1));

  if (first_text.empty()) {
    // Suffix range: the last n bytes, all of them if n is larger than the file.
    uint64_t n;
    if (!parse_position(last_text, n)) return r;
    if (n == 0 || size == 0) {
      r.kind = ByteRange::Kind::Unsatisfiable;
      return r;
    }
    r.kind = ByteRange::Kind::Satisfiable;
    r.first = n >= size ? 0 : size - n;
    r.last = size - 1;
    return r;
  }

  uint64_t first, last = UINT64_MAX;
  if (!parse_position(first_text, first)) return r;
  if (!last_text.empty() && !parse_position(last_text, last)) return r;
  if (last < first) return r;  // an invalid range-spec makes the whole field invalid
  if (first >= size) {
    r.kind = ByteRange::Kind::Unsatisfiable;
    return r;
  }
  r.kind = ByteRange::Kind::Satisfiable;
  r.first = first;
  r.last = last >= size ? size - 1 : last;
  return r;
}

}  // namespace atl::httpd
