// Status codes and the text of a response head.
#pragma once

#include <stdint.h>

#include <string>
#include <string_view>

namespace atl::httpd {

enum class Status : uint16_t {
  Ok = 200,
  PartialContent = 206,
  MovedPermanently = 301,
  NotModified = 304,
  BadRequest = 400,
  Forbidden = 403,
  NotFound = 404,
  MethodNotAllowed = 405,
  RequestTimeout = 408,
  ContentTooLarge = 413,
  UriTooLong = 414,
  RangeNotSatisfiable = 416,
  InternalServerError = 500,
  ServiceUnavailable = 503,
  VersionNotSupported = 505,
};

constexpr unsigned code_of(Status s) { return static_cast<unsigned>(s); }
std::string_view reason_phrase(Status s);

// Builds "HTTP/1.1 <code> <reason>\r\n" plus fields; finish() adds the blank line.
// We always answer as HTTP/1.1, which RFC 9110 allows for 1.0 clients too.
class ResponseHead {
 public:
  ResponseHead(Status status, std::string_view date);
  void add(std::string_view name, std::string_view value);
  void add(std::string_view name, uint64_t value);
  std::string finish() &&;

 private:
  std::string m_text;
};

// A small HTML page naming the status, the body of every error response.
std::string error_page(Status s);

}  // namespace atl::httpd
