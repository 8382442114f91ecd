// libFuzzer target for what httpd reads from a client before it opens a file:
// the request head (http_parser.cpp), the target turned into a path under the
// document root (url_path.cpp), the Range header (range.cpp) and the
// If-Modified-Since date (http_date.cpp). The input is the bytes a client
// sends. Whatever is accepted must keep its promises: a path never leaves the
// root, a satisfiable range lies inside the file, a head is never incomplete
// past the size limits.
//
// Seeds: gen_app_corpus.py.
#include <cstdlib>
#include <string>
#include <string_view>

#include "http_date.h"
#include "http_parser.h"
#include "range.h"
#include "url_path.h"

namespace atl::httpd {
namespace {

void check_path(const UrlPath& url) {
  const std::string& p = url.path;
  if (p.empty() || p[0] != '/') std::abort();
  if (p.size() > 1 && p.back() == '/') std::abort();
  if (p.find('\0') != std::string::npos || p.find("//") != std::string::npos) std::abort();
  for (size_t at = 0; at < p.size();) {
    size_t next = p.find('/', at + 1);
    std::string_view segment = std::string_view(p).substr(at + 1, next == std::string::npos ? std::string::npos : next - at - 1);
    if (segment == "." || segment == "..") std::abort();
    at = next == std::string::npos ? p.size() : next;
  }
  // What a redirect or a listing sends back decodes to the same path.
  auto back = percent_decode(percent_encode_path(p));
  if (!back || *back != p) std::abort();
  std::string escaped = html_escape(p);
  if (escaped.find_first_of("<>\"'") != std::string::npos) std::abort();
}

void check_range(const std::string& header) {
  for (uint64_t size : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, ~uint64_t{0} >> 1}) {
    ByteRange r = parse_range(header, size);
    if (r.kind == ByteRange::Kind::Satisfiable && (r.first > r.last || r.last >= size)) std::abort();
  }
}

}  // namespace
}  // namespace atl::httpd

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace atl::httpd;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ParseLimits limits;
  Request req;
  ParseResult result = parse_request(input, req, limits);
  if (result.state == ParseState::Incomplete &&
      size > 2 * limits.max_request_line + limits.max_header_fields + 16)
    std::abort();  // the connection's buffer would grow without bound
  if (result.state != ParseState::Complete) return 0;
  if (result.consumed == 0 || result.consumed > size) std::abort();
  (void)req.keep_alive();
  if (auto url = normalize_target(req.target)) check_path(*url);
  if (const std::string* range = req.field("Range")) check_range(*range);
  if (const std::string* ims = req.field("If-Modified-Since")) (void)parse_http_date(*ims);
  return 0;
}
