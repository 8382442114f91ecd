// HTTP/1.x request heads (RFC 9112): the request line and header fields, with
// the size limits that keep a connection's buffer bounded. Pure: no I/O.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <string_view>
#include <vector>

#include "response.h"

namespace atl::httpd {

struct ParseLimits {
  size_t max_request_line = 8 * 1024;   // longer: 414 URI Too Long
  size_t max_header_fields = 16 * 1024;  // the fields after the request line; more: 413
};

struct HeaderField {
  std::string name;
  std::string value;  // without surrounding whitespace
};

struct Request {
  std::string method;
  std::string target;  // as sent, still percent-encoded
  unsigned version_major = 1;
  unsigned version_minor = 1;
  std::vector<HeaderField> fields;
  uint64_t content_length = 0;  // a body the connection must skip
  bool has_transfer_encoding = false;  // a body we cannot frame: close afterwards

  // The first field called `name` (case-insensitive), or nullptr.
  const std::string* field(std::string_view name) const;
  // Whether the client lets the connection stay open: HTTP/1.1 unless it sent
  // "Connection: close", HTTP/1.0 only with "Connection: keep-alive".
  bool keep_alive() const;
  bool is_http11() const { return version_major == 1 && version_minor >= 1; }
};

enum class ParseState { Incomplete, Complete, Failed };

struct ParseResult {
  ParseState state = ParseState::Incomplete;
  size_t consumed = 0;                 // Complete: bytes of the head, blank line included
  Status error = Status::BadRequest;  // Failed: the status to answer before closing
};

// Parses one request head from the start of `input`. Incomplete means "read more";
// it is returned only while the buffered bytes are within `limits`, so a caller that
// keeps appending and retrying never buffers more than the limits plus one read.
ParseResult parse_request(std::string_view input, Request& out, const ParseLimits& limits = {});

}  // namespace atl::httpd
