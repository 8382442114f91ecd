#include "access_log.h"

#include <errno.h>
#include <unistd.h>

#include "http_date.h"

namespace atl::httpd {
namespace {

// Flush early rather than hold a burst of lines in memory.
constexpr size_t k_flush_threshold = 64 * 1024;

// Request targets are free of controls and spaces (the parser checks), but quotes
// and backslashes would break the quoted field.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
}

}  // namespace

std::string format_log_line(const LogRecord& r) {
  std::string line;
  line.reserve(128);
  line += r.client;
  line += " - - [";
  line += format_log_date(r.wall);
  line += "] \"";
  if (r.request && !r.request->method.empty()) {
    line += r.request->method;
    line += ' ';
    append_escaped(line, r.request->target);
    line += " HTTP/";
    line += std::to_string(r.request->version_major);
    line += '.';
    line += std::to_string(r.request->version_minor);
  } else {
    line += '-';
  }
  line += "\" ";
  line += std::to_string(code_of(r.status));
  line += ' ';
  line += std::to_string(r.body_bytes);
  line += ' ';
  line += std::to_string(r.duration_us);
  line += "us\n";
  return line;
}

void AccessLog::record(const LogRecord& r) {
  if (!m_enabled) return;
  m_pending += format_log_line(r);
  if (m_pending.size() >= k_flush_threshold) flush();
}

void AccessLog::flush() {
  size_t done = 0;
  while (done < m_pending.size()) {
    ssize_t n = ::write(1, m_pending.data() + done, m_pending.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // stdout is gone or full: drop the lines, keep serving
    done += static_cast<size_t>(n);
  }
  m_pending.clear();
}

}  // namespace atl::httpd
