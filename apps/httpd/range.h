// The Range request header (RFC 9110 section 14.2), single byte ranges only.
#pragma once

#include <stdint.h>

#include <string_view>

namespace atl::httpd {

struct ByteRange {
  enum class Kind {
    // No usable Range: absent, malformed, another unit, or several ranges. The
    // whole representation is sent with 200, as the RFC allows.
    Ignore,
    Satisfiable,    // send [first, last] with 206
    Unsatisfiable,  // 416 with Content-Range: bytes */size
  };
  Kind kind = Kind::Ignore;
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
  uint64_t length() const { return last - first + 1; }
};

// `header` is the field value, e.g. "bytes=0-499", "bytes=500-", "bytes=-500".
ByteRange parse_range(std::string_view header, uint64_t size);

}  // namespace atl::httpd
