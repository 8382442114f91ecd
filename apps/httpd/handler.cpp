#include "handler.h"

#include "http_date.h"
#include "mime.h"
#include "range.h"
#include "url_path.h"

namespace atl::httpd {
namespace {

// Connection fields for the reply: "close" when we end it, and an explicit
// "keep-alive" for a 1.0 client that asked for it (1.0 defaults to closing).
void add_connection(ResponseHead& head, const Request* req, bool close) {
  if (close)
    head.add("Connection", "close");
  else if (req && !req->is_http11())
    head.add("Connection", "keep-alive");
}

Reply in_memory(Status status, ResponseHead head, std::string_view body, bool head_only, bool close) {
  Reply r;
  r.status = status;
  r.out = std::move(head).finish();
  if (!head_only) {
    r.out += body;
    r.body_bytes = body.size();
  }
  r.close_after = close;
  return r;
}

// If-Modified-Since is honoured only when it parses and is not in the future
// (RFC 9110 section 13.1.3: such a date is invalid).
bool not_modified(const Request& req, time_t mtime, time_t now) {
  const std::string* ims = req.field("If-Modified-Since");
  if (!ims) return false;
  auto since = parse_http_date(*ims);
  return since && *since <= now && mtime <= *since;
}

// A Range applies unless If-Range names another validator than our Last-Modified.
ByteRange wanted_range(const Request& req, uint64_t size, std::string_view last_modified) {
  const std::string* range = req.field("Range");
  if (!range) return {};
  const std::string* if_range = req.field("If-Range");
  if (if_range && *if_range != last_modified) return {};
  return parse_range(*range, size);
}

}  // namespace

Reply Handler::error(Status status, const Now& now, bool close, const Request* req) {
  bool head_only = req && req->method == "HEAD";
  std::string body = error_page(status);
  ResponseHead head(status, now.date);
  head.add("Content-Type", "text/html; charset=utf-8");
  head.add("Content-Length", body.size());
  if (status == Status::MethodNotAllowed) head.add("Allow", "GET, HEAD");
  add_connection(head, req, close);
  return in_memory(status, std::move(head), body, head_only, close);
}

Reply Handler::handle(const Request& req, const Now& now) {
  // A client waiting on "Expect: 100-continue" may never send the body we would
  // skip; with a body we cannot frame or will not read, the connection ends.
  bool has_body = req.has_transfer_encoding || req.content_length > 0;
  bool close = !req.keep_alive() || req.has_transfer_encoding || req.content_length > k_max_skipped_body ||
               (has_body && req.field("Expect"));
  bool head_only = req.method == "HEAD";
  if (req.method != "GET" && !head_only) return error(Status::MethodNotAllowed, now, close, &req);

  auto url = normalize_target(req.target);
  if (!url) return error(Status::BadRequest, now, close, &req);

  OpenedFile file = m_files.open(url->path);
  switch (file.kind) {
    case OpenedFile::Kind::NotFound: return error(Status::NotFound, now, close, &req);
    case OpenedFile::Kind::Forbidden: return error(Status::Forbidden, now, close, &req);
    case OpenedFile::Kind::Regular: return serve_file(req, std::move(file), mime_type_for(url->path), now, close);
    case OpenedFile::Kind::Directory: break;
  }
  if (!url->trailing_slash) {
    // Relative links in the page resolve against the slash form only.
    std::string location = percent_encode_path(url->path) + "/";
    std::string body = "<!DOCTYPE html>\n<html><body><a href=\"" + html_escape(location) + "\">Moved</a></body></html>\n";
    ResponseHead head(Status::MovedPermanently, now.date);
    head.add("Location", location);
    head.add("Content-Type", "text/html; charset=utf-8");
    head.add("Content-Length", body.size());
    add_connection(head, &req, close);
    return in_memory(Status::MovedPermanently, std::move(head), body, head_only, close);
  }
  return serve_directory(req, url->path, now, close);
}

Reply Handler::serve_directory(const Request& req, std::string_view path, const Now& now, bool close) {
  std::string index_path = std::string(path == "/" ? "" : path) + "/index.html";
  OpenedFile index = m_files.open(index_path);
  if (index.kind == OpenedFile::Kind::Regular) return serve_file(req, std::move(index), mime_type_for(index_path), now, close);

  bool head_only = req.method == "HEAD";
  auto html = m_files.listing(path);
  if (!html) return error(Status::Forbidden, now, close, &req);
  ResponseHead head(Status::Ok, now.date);
  head.add("Content-Type", "text/html; charset=utf-8");
  head.add("Content-Length", html->size());
  add_connection(head, &req, close);
  return in_memory(Status::Ok, std::move(head), *html, head_only, close);
}

Reply Handler::serve_file(const Request& req, OpenedFile file, std::string_view mime, const Now& now, bool close) {
  bool head_only = req.method == "HEAD";
  std::string last_modified = format_http_date(file.mtime);
  if (not_modified(req, file.mtime, now.wall)) {
    ResponseHead head(Status::NotModified, now.date);
    head.add("Last-Modified", last_modified);
    add_connection(head, &req, close);
    return in_memory(Status::NotModified, std::move(head), {}, true, close);
  }

  ByteRange range = wanted_range(req, file.size, last_modified);
  if (range.kind == ByteRange::Kind::Unsatisfiable) {
    Reply r = error(Status::RangeNotSatisfiable, now, close, &req);
    // Splice Content-Range into the finished head, before its blank line.
    r.out.insert(r.out.find("\r\n\r\n") + 2, "Content-Range: bytes */" + std::to_string(file.size) + "\r\n");
    return r;
  }
  bool partial = range.kind == ByteRange::Kind::Satisfiable;
  uint64_t first = partial ? range.first : 0;
  uint64_t length = partial ? range.length() : file.size;
  Status status = partial ? Status::PartialContent : Status::Ok;

  ResponseHead head(status, now.date);
  head.add("Content-Type", mime);
  head.add("Content-Length", length);
  head.add("Last-Modified", last_modified);
  head.add("Accept-Ranges", "bytes");
  if (partial)
    head.add("Content-Range", "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
                                  std::to_string(file.size));
  add_connection(head, &req, close);

  Reply r = in_memory(status, std::move(head), {}, true, close);
  if (!head_only && length > 0) {
    r.cached = std::move(file.contents);
    r.file = std::move(file.fd);
    r.file_offset = first;
    r.file_length = length;
    r.body_bytes = length;
  }
  return r;
}

}  // namespace atl::httpd
