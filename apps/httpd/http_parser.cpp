#include "http_parser.h"

#include <optional>

#include "ascii.h"

namespace atl::httpd {
namespace {

// tchar (RFC 9110 section 5.6.2): the characters of methods and field names.
bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!is_tchar(c)) return false;
  return true;
}

// Field values may hold any visible or obs-text byte, SP and HTAB; no other controls.
bool is_field_value(std::string_view s) {
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
  }
  return true;
}

// One line ending in LF starting at `pos`: the line without its CR LF (a bare LF
// is accepted too), and the position after it; npos when no LF has arrived.
size_t line_at(std::string_view in, size_t pos, std::string_view& line) {
  size_t lf = in.find('\n', pos);
  if (lf == std::string_view::npos) return std::string_view::npos;
  line = in.substr(pos, lf - pos);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return lf + 1;
}

ParseResult fail(Status s) {
  ParseResult r;
  r.state = ParseState::Failed;
  r.error = s;
  return r;
}

bool parse_version(std::string_view v, unsigned& major, unsigned& minor) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return false;
  if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') return false;
  major = static_cast<unsigned>(v[5] - '0');
  minor = static_cast<unsigned>(v[7] - '0');
  return true;
}

// "METHOD SP target SP HTTP/x.y", single spaces as RFC 9112 requires of senders.
std::optional<Status> parse_request_line(std::string_view line, Request& out) {
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return Status::BadRequest;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos) return Status::BadRequest;
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(method) || target.empty()) return Status::BadRequest;
  for (char c : target) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f) return Status::BadRequest;
  }
  if (!parse_version(version, out.version_major, out.version_minor)) return Status::BadRequest;
  if (out.version_major != 1) return Status::VersionNotSupported;
  out.method = method;
  out.target = target;
  return std::nullopt;
}

bool parse_content_length(std::string_view v, uint64_t& out) {
  if (v.empty() || v.size() > 18) return false;  // 10^18 bytes is past any file
  uint64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<unsigned>(c - '0');
  }
  out = n;
  return true;
}

// Field lines between the request line and the blank line; then the checks that
// need all of them: Host, and a body length we can trust.
std::optional<Status> parse_fields(std::string_view in, size_t pos, size_t end, Request& out) {
  bool have_length = false;
  size_t host_count = 0;
  while (pos < end) {
    std::string_view line;
    pos = line_at(in, pos, line);
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') return Status::BadRequest;  // obsolete line folding
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Status::BadRequest;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim_ows(line.substr(colon + 1));
    if (!is_token(name) || !is_field_value(value)) return Status::BadRequest;
    if (iequals(name, "host")) ++host_count;
    if (iequals(name, "transfer-encoding")) out.has_transfer_encoding = true;
    if (iequals(name, "content-length")) {
      uint64_t n;
      if (!parse_content_length(value, n) || (have_length && n != out.content_length)) return Status::BadRequest;
      out.content_length = n;
      have_length = true;
    }
    out.fields.push_back({std::string(name), std::string(value)});
  }
  if (host_count > 1 || (out.is_http11() && host_count == 0)) return Status::BadRequest;
  return std::nullopt;
}

}  // namespace

const std::string* Request::field(std::string_view name) const {
  for (const HeaderField& f : fields)
    if (iequals(f.name, name)) return &f.value;
  return nullptr;
}

bool Request::keep_alive() const {
  bool close = false, keep = false;
  for (const HeaderField& f : fields) {
    if (!iequals(f.name, "connection")) continue;
    std::string_view rest = f.value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view option = trim_ows(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      close |= iequals(option, "close");
      keep |= iequals(option, "keep-alive");
    }
  }
  if (close) return false;
  return is_http11() || keep;
}

ParseResult parse_request(std::string_view in, Request& out, const ParseLimits& limits) {
  out = Request{};
  // A server should ignore empty lines before a request line (RFC 9112 section 2.2).
  size_t start = 0;
  while (start < in.size() && (in[start] == '\r' || in[start] == '\n')) ++start;
  if (start > limits.max_request_line) return fail(Status::BadRequest);

  std::string_view line;
  size_t pos = line_at(in, start, line);
  if (pos == std::string_view::npos) {
    if (in.size() - start > limits.max_request_line) return fail(Status::UriTooLong);
    // Fail a stream that cannot be HTTP (TLS, say) now rather than at the timeout.
    std::string_view partial = in.substr(start);
    for (char c : partial.substr(0, partial.find(' ')))
      if (!is_tchar(c) && c != '\r') return fail(Status::BadRequest);
    return ParseResult{};
  }
  if (line.size() > limits.max_request_line) return fail(Status::UriTooLong);
  // The request line is judged as soon as it is complete, before any field arrives.
  if (auto error = parse_request_line(line, out)) return fail(*error);

  // Find the blank line that ends the head.
  size_t fields_start = pos, end = pos;
  for (;;) {
    std::string_view field_line;
    size_t next = line_at(in, end, field_line);
    if (next == std::string_view::npos)
      return in.size() - fields_start > limits.max_header_fields ? fail(Status::ContentTooLarge) : ParseResult{};
    end = next;
    if (end - fields_start > limits.max_header_fields) return fail(Status::ContentTooLarge);
    if (field_line.empty()) break;
  }
  if (auto error = parse_fields(in, fields_start, end, out)) return fail(*error);

  ParseResult r;
  r.state = ParseState::Complete;
  r.consumed = end;
  return r;
}

}  // namespace atl::httpd
