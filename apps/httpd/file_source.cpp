#include "file_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "url_path.h"

namespace atl::httpd {
namespace {

// The cache is dropped whole when it would grow past either bound: simple, and a
// static site's working set fits long before that.
constexpr uint64_t k_cache_max_bytes = 8 * 1024 * 1024;
static_assert(k_cached_file_max <= k_cache_max_bytes / 4);
constexpr size_t k_cache_max_entries = 1024;
// A listing stops here rather than build an unbounded page.
constexpr size_t k_listing_max_entries = 10'000;

OpenedFile::Kind kind_for_errno(int err) {
  return err == EACCES || err == EPERM ? OpenedFile::Kind::Forbidden : OpenedFile::Kind::NotFound;
}

bool read_exact(int fd, char* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

struct ListingEntry {
  std::string name;
  bool is_dir;
  uint64_t size;
};

}  // namespace

FileSource::FileSource(std::string root) : m_root(std::move(root)) {
  while (!m_root.empty() && m_root.back() == '/') m_root.pop_back();
}

std::string FileSource::fs_path(std::string_view url_path) const { return m_root + std::string(url_path); }

OpenedFile FileSource::open(std::string_view url_path) {
  OpenedFile f;
  std::string path = fs_path(url_path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    f.kind = kind_for_errno(errno);
    return f;
  }
  f.mtime = st.st_mtime;
  if (S_ISDIR(st.st_mode)) {
    f.kind = OpenedFile::Kind::Directory;
    return f;
  }
  // Devices and FIFOs are not content (and opening a FIFO would block).
  if (!S_ISREG(st.st_mode)) return f;
  f.size = static_cast<uint64_t>(st.st_size);
  if (f.size <= k_cached_file_max) {
    f.contents = read_cached(path, st);
    if (!f.contents) {
      f.kind = kind_for_errno(errno);
      return f;
    }
    f.size = f.contents->size();  // the file may have changed since stat()
    f.kind = OpenedFile::Kind::Regular;
    return f;
  }
  f.fd = UniqueFd(::open(path.c_str(), O_RDONLY));
  if (!f.fd.valid()) {
    f.kind = kind_for_errno(errno);
    return f;
  }
  // Describe what we opened, not what stat() saw a moment earlier.
  if (::fstat(f.fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return OpenedFile{};
  f.size = static_cast<uint64_t>(st.st_size);
  f.mtime = st.st_mtime;
  f.kind = OpenedFile::Kind::Regular;
  return f;
}

// Cached copies are checked against stat() on every request; a change of inode,
// size, mtime or ctime reloads the file.
std::shared_ptr<const std::string> FileSource::read_cached(const std::string& path, const struct stat& st) {
  auto it = m_cache.find(path);
  if (it != m_cache.end()) {
    const CacheEntry& e = it->second;
    if (e.dev == st.st_dev && e.ino == st.st_ino && e.size == static_cast<uint64_t>(st.st_size) &&
        e.mtime == st.st_mtime && e.ctime == st.st_ctime)
      return e.contents;
    m_cache_bytes -= e.size;
    m_cache.erase(it);
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY));
  if (!fd.valid()) return nullptr;
  struct stat now;
  if (::fstat(fd.get(), &now) != 0 || !S_ISREG(now.st_mode) || static_cast<uint64_t>(now.st_size) > k_cached_file_max) {
    errno = ENOENT;
    return nullptr;
  }
  std::string data(static_cast<size_t>(now.st_size), '\0');
  if (!read_exact(fd.get(), data.data(), data.size())) {
    errno = ENOENT;
    return nullptr;
  }
  auto contents = std::make_shared<const std::string>(std::move(data));
  if (m_cache_bytes + contents->size() > k_cache_max_bytes || m_cache.size() >= k_cache_max_entries) {
    m_cache.clear();
    m_cache_bytes = 0;
  }
  m_cache.emplace(path, CacheEntry{now.st_dev, now.st_ino, contents->size(), now.st_mtime, now.st_ctime, contents});
  m_cache_bytes += contents->size();
  return contents;
}

std::optional<std::string> FileSource::listing(std::string_view url_path) const {
  std::string dir_path = fs_path(url_path);
  DIR* dir = ::opendir(dir_path.c_str());
  if (!dir) return std::nullopt;
  std::vector<ListingEntry> entries;
  while (struct dirent* d = ::readdir(dir)) {
    std::string name = d->d_name;
    if (name == "." || name == ".." || entries.size() >= k_listing_max_entries) continue;
    struct stat st;
    std::string child = dir_path + "/" + name;
    if (::stat(child.c_str(), &st) != 0) continue;
    entries.push_back({std::move(name), S_ISDIR(st.st_mode), static_cast<uint64_t>(st.st_size)});
  }
  ::closedir(dir);
  std::sort(entries.begin(), entries.end(), [](const ListingEntry& a, const ListingEntry& b) {
    return a.is_dir != b.is_dir ? a.is_dir : a.name < b.name;
  });

  std::string shown = html_escape(url_path == "/" ? "/" : std::string(url_path) + "/");
  std::string html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Index of " + shown +
                     "</title></head>\n<body><h1>Index of " + shown + "</h1>\n<ul>\n";
  if (url_path != "/") html += "<li><a href=\"../\">../</a></li>\n";
  for (const ListingEntry& e : entries) {
    std::string suffix = e.is_dir ? "/" : "";
    html += "<li><a href=\"" + html_escape(percent_encode_path(e.name)) + suffix + "\">" + html_escape(e.name) +
            suffix + "</a>";
    if (!e.is_dir) html += " " + std::to_string(e.size) + " bytes";
    html += "</li>\n";
  }
  html += "</ul></body></html>\n";
  return html;
}

}  // namespace atl::httpd
