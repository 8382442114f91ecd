// Open archive files and directories as descriptor-table Files, and open(2)'s
// rules for a read-only namespace.
#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <map>

#include "vfs.h"

namespace atl::fs {

namespace {

// The most one read moves, as on Linux (the read hook returns an int).
constexpr uint64_t kMaxTransfer = 0x7ffff000;

// A regular file: its bytes are [data_offset, data_offset + size) of the archive.
class ArchiveFile final : public fd::File {
 public:
  ArchiveFile(Location loc, const Node& n) : m_loc(std::move(loc)), m_data(n.data_offset), m_size(n.size) {}

  ssize_t read(void* buf, size_t len) override {
    ssize_t n = pread(buf, len, m_pos);
    if (n > 0) m_pos += n;
    return n;
  }

  ssize_t pread(void* buf, size_t len, off_t offset) override {
    if (offset < 0) return -EINVAL;
    if (static_cast<uint64_t>(offset) >= m_size) return 0;
    size_t n = static_cast<size_t>(std::min<uint64_t>({len, m_size - offset, kMaxTransfer}));
    if (!m_loc.mount->read(m_data + offset, buf, n).ok()) return -EIO;
    return static_cast<ssize_t>(n);
  }

  off_t lseek(off_t offset, int whence) override {
    off_t base;
    switch (whence) {
      case SEEK_SET: base = 0; break;
      case SEEK_CUR: base = m_pos; break;
      case SEEK_END: base = static_cast<off_t>(m_size); break;
      default: return -EINVAL;
    }
    off_t target;
    if (__builtin_add_overflow(base, offset, &target)) return -EOVERFLOW;
    if (target < 0) return -EINVAL;
    m_pos = target;
    return target;
  }

  int fstat(struct stat* st) override { return stat_location(m_loc, st); }

 private:
  Location m_loc;
  uint64_t m_data;
  uint64_t m_size;
  off_t m_pos = 0;
};

// A directory opened with open(2): fstat and fdopendir work, read does not.
class DirFile final : public fd::File {
 public:
  explicit DirFile(Location loc);
  ~DirFile() override;
  ssize_t read(void*, size_t) override { return -EISDIR; }
  ssize_t pread(void*, size_t, off_t) override { return -EISDIR; }
  int fstat(struct stat* st) override { return stat_location(m_loc, st); }
  const Location& location() const { return m_loc; }

 private:
  Location m_loc;
};

// The DirFiles alive, so fdopendir can tell a directory's File without RTTI.
std::map<const fd::File*, const DirFile*>* g_dirs;

DirFile::DirFile(Location loc) : m_loc(std::move(loc)) {
  if (!g_dirs) g_dirs = new std::map<const fd::File*, const DirFile*>;
  g_dirs->emplace(this, this);
}

DirFile::~DirFile() { g_dirs->erase(this); }

// open(O_CREAT) of a missing name: EROFS when its directory exists, else why not.
int create_error(const char* path) {
  std::string_view name(path);
  while (name.size() > 1 && name.back() == '/') name.remove_suffix(1);
  const size_t slash = name.rfind('/');
  const std::string parent(slash == std::string_view::npos ? "." : name.substr(0, slash == 0 ? 1 : slash));
  Location dir;
  if (int rc = resolve(parent.c_str(), Follow::kYes, dir); rc < 0) return rc;
  return dir.is_directory() ? -EROFS : -ENOTDIR;
}

}  // namespace

int open_file(const char* path, int flags, std::unique_ptr<fd::File>& out) {
  const bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  Location loc;
  int rc = resolve(path, (flags & O_NOFOLLOW) ? Follow::kNo : Follow::kYes, loc);
  if (rc == -ENOENT && (flags & O_CREAT)) return create_error(path);
  if (rc < 0) return rc;
  if ((flags & O_CREAT) && (flags & O_EXCL)) return -EEXIST;
  const Node* n = loc.archive_node();
  if (n && n->type == NodeType::kSymlink) return -ELOOP;  // only with O_NOFOLLOW
  if (loc.is_directory()) {
    if (writes || (flags & O_CREAT)) return -EISDIR;
    out = std::make_unique<DirFile>(std::move(loc));
    return 0;
  }
  if (flags & O_DIRECTORY) return -ENOTDIR;
  if (writes) return -EROFS;
  out = std::make_unique<ArchiveFile>(loc, *n);
  return 0;
}

const Location* directory_of(const fd::File* file) {
  if (!g_dirs) return nullptr;
  auto it = g_dirs->find(file);
  return it == g_dirs->end() ? nullptr : &it->second->location();
}

}  // namespace atl::fs
