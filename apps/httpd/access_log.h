// One line per answered request on stdout, buffered and written once per turn of
// the event loop so logging costs one write() however busy the server is.
#pragma once

#include <stdint.h>
#include <time.h>

#include <string>
#include <string_view>

#include "http_parser.h"
#include "response.h"

namespace atl::httpd {

struct LogRecord {
  std::string_view client;       // peer address
  const Request* request;        // nullptr when the request line never parsed
  Status status;
  uint64_t body_bytes;
  uint64_t duration_us;          // first byte of the request to last byte of the reply
  time_t wall;
};

class AccessLog {
 public:
  explicit AccessLog(bool enabled) : m_enabled(enabled) {}
  bool enabled() const { return m_enabled; }

  // Common log format plus the duration:
  // 10.0.0.1 - - [06/Nov/1994:08:49:37 +0000] "GET /a.html HTTP/1.1" 200 1234 57us
  void record(const LogRecord& r);
  void flush();

 private:
  bool m_enabled;
  std::string m_pending;
};

// Formats a record without buffering it; for tests.
std::string format_log_line(const LogRecord& r);

}  // namespace atl::httpd
