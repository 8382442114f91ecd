// The document root: files opened for serving, all but the largest from a
// memory cache, and generated listings for directories without an index.html.
#pragma once

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "unique_fd.h"

namespace atl::httpd {

// Files up to this size are read whole (and cached); larger ones are streamed.
// A quarter of the cache: a few of the largest fit at once, and serving one
// costs no read of the disk per request.
constexpr uint64_t k_cached_file_max = 2 * 1024 * 1024;

struct OpenedFile {
  enum class Kind { NotFound, Forbidden, Regular, Directory };
  Kind kind = Kind::NotFound;
  uint64_t size = 0;
  time_t mtime = 0;
  // Regular files: the whole contents when cached, else an fd to stream from.
  std::shared_ptr<const std::string> contents;
  UniqueFd fd;
};

class FileSource {
 public:
  // `root` without a trailing slash ("" or "/" both mean the file system root).
  explicit FileSource(std::string root);

  // `url_path` is normalised (UrlPath::path), so it cannot leave the root.
  OpenedFile open(std::string_view url_path);

  // An HTML index of the directory at `url_path`, or nullopt if it cannot be read.
  std::optional<std::string> listing(std::string_view url_path) const;

 private:
  struct CacheEntry {
    dev_t dev;
    ino_t ino;
    uint64_t size;
    time_t mtime;
    time_t ctime;
    std::shared_ptr<const std::string> contents;
  };

  std::string fs_path(std::string_view url_path) const;
  std::shared_ptr<const std::string> read_cached(const std::string& path, const struct stat& st);

  std::string m_root;
  std::unordered_map<std::string, CacheEntry> m_cache;
  uint64_t m_cache_bytes = 0;
};

}  // namespace atl::httpd
