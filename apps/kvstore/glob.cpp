#include "glob.h"

#include <stddef.h>

namespace kv {

namespace {

unsigned char fold(unsigned char c, GlobCase mode) {
  if (mode == GlobCase::kInsensitive && c >= 'A' && c <= 'Z') return static_cast<unsigned char>(c - 'A' + 'a');
  return c;
}

// Matches the class starting at pattern[p] == '[' against `c`; sets `next` to
// the index after the class.
bool match_class(std::string_view pattern, size_t p, unsigned char c, GlobCase mode, size_t& next) {
  ++p;
  bool negate = p < pattern.size() && pattern[p] == '^';
  if (negate) ++p;
  bool match = false;
  c = fold(c, mode);
  while (p < pattern.size() && pattern[p] != ']') {
    if (pattern[p] == '\\' && p + 1 < pattern.size()) {
      ++p;
      if (fold(static_cast<unsigned char>(pattern[p]), mode) == c) match = true;
    } else if (p + 2 < pattern.size() && pattern[p + 1] == '-') {
      unsigned char lo = fold(static_cast<unsigned char>(pattern[p]), mode);
      unsigned char hi = fold(static_cast<unsigned char>(pattern[p + 2]), mode);
      if (lo > hi) {
        unsigned char t = lo;
        lo = hi;
        hi = t;
      }
      if (c >= lo && c <= hi) match = true;
      p += 2;
    } else if (fold(static_cast<unsigned char>(pattern[p]), mode) == c) {
      match = true;
    }
    ++p;
  }
  next = p < pattern.size() ? p + 1 : p;  // past ']', or the end of an unclosed class
  return negate ? !match : match;
}

// One non-star token at pattern[p] against `c`.
bool match_one(std::string_view pattern, size_t p, unsigned char c, GlobCase mode, size_t& next) {
  switch (pattern[p]) {
    case '?':
      next = p + 1;
      return true;
    case '[':
      return match_class(pattern, p, c, mode, next);
    case '\\':
      if (p + 1 < pattern.size()) ++p;
      [[fallthrough]];
    default:
      next = p + 1;
      return fold(static_cast<unsigned char>(pattern[p]), mode) == fold(c, mode);
  }
}

}  // namespace

// Every token but '*' consumes exactly one byte, so remembering only the last
// star and retrying it one byte further is complete and runs in
// O(pattern * text) without recursion (Redis recurses, with a depth guard).
bool glob_match(std::string_view pattern, std::string_view text, GlobCase mode) {
  size_t p = 0, t = 0;
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      while (p < pattern.size() && pattern[p] == '*') ++p;
      if (p == pattern.size()) return true;
      star_p = p;
      star_t = t;
      continue;
    }
    size_t next = 0;
    if (p < pattern.size() && match_one(pattern, p, static_cast<unsigned char>(text[t]), mode, next)) {
      p = next;
      ++t;
      continue;
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace kv
