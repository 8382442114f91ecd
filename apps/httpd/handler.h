// What to answer: one request in, one reply (head, body, whether to close) out.
// The connection only moves the bytes.
#pragma once

#include <stdint.h>
#include <time.h>

#include <memory>
#include <string>
#include <string_view>

#include "file_source.h"
#include "http_parser.h"
#include "response.h"
#include "unique_fd.h"

namespace atl::httpd {

// A request body up to this size is read and dropped to keep the connection;
// a larger one (or a chunked one) ends it after the reply.
constexpr uint64_t k_max_skipped_body = 1024 * 1024;

struct Reply {
  Status status = Status::Ok;
  std::string out;           // the head, then the body if it was generated
  // A file's body: sent straight from the cached contents when there are
  // some (shared, so a cache flush does not pull them from under a reply in
  // flight), else streamed from the descriptor...
  std::shared_ptr<const std::string> cached;
  UniqueFd file;
  uint64_t file_offset = 0;  // ...starting at this offset of either
  uint64_t file_length = 0;
  uint64_t body_bytes = 0;   // body bytes to be sent, for the access log
  bool close_after = false;
};

// Per-request clock readings, so one request sees one time.
struct Now {
  time_t wall;            // CLOCK_REALTIME seconds
  std::string_view date;  // format_http_date(wall)
};

class Handler {
 public:
  explicit Handler(FileSource& files) : m_files(files) {}

  Reply handle(const Request& req, const Now& now);

  // An error page; `close` adds "Connection: close", `head_only` drops the body.
  // `req` is the request being answered, if it got as far as parsing.
  static Reply error(Status status, const Now& now, bool close, const Request* req = nullptr);

 private:
  Reply serve_file(const Request& req, OpenedFile file, std::string_view mime, const Now& now, bool close);
  Reply serve_directory(const Request& req, std::string_view path, const Now& now, bool close);

  FileSource& m_files;
};

}  // namespace atl::httpd
