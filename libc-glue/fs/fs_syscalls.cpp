// The file system's POSIX calls (newlib's open and stat hooks among them); they
// forward into vfs.h. read, pread, lseek, fstat and close are the descriptor
// table's (syscalls.cpp), and reach the Files open() installs.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atoll/fd.h"
#include "vfs.h"

#undef errno
extern "C" int errno;

namespace {

using atl::fs::Follow;

// newlib's _*_r wrappers copy the global errno into the thread's reent, while
// apps calling these directly read the reent's; set both (as syscalls.cpp does).
int fail(int e) {
  errno = e;
  _REENT->_errno = e;
  return -1;
}

int posix(int result) { return result < 0 ? fail(-result) : result; }

// realpath's caller-supplied buffer: newlib's <sys/syslimits.h> says PATH_MAX
// is 1024 where <limits.h> says 4096; trust the smaller.
constexpr size_t kRealpathBuffer = 1024;

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  std::unique_ptr<atl::fd::File> file;
  if (int rc = atl::fs::open_file(path, flags, file); rc < 0) return fail(-rc);
  file->set_status_flags(flags & (O_ACCMODE | O_APPEND | O_NONBLOCK));
  return posix(atl::fd::install(std::move(file)));
}

int stat(const char* path, struct stat* st) { return posix(atl::fs::stat_path(path, Follow::kYes, st)); }

int lstat(const char* path, struct stat* st) { return posix(atl::fs::stat_path(path, Follow::kNo, st)); }

int access(const char* path, int mode) {
  struct stat st;
  if (int rc = atl::fs::stat_path(path, Follow::kYes, &st); rc < 0) return fail(-rc);
  if (mode & W_OK) return fail(EROFS);
  if ((mode & X_OK) && !S_ISDIR(st.st_mode) && !(st.st_mode & 0111)) return fail(EACCES);
  return 0;
}

ssize_t readlink(const char* path, char* buf, size_t size) {
  atl::fs::Location loc;
  if (int rc = atl::fs::resolve(path, Follow::kNo, loc); rc < 0) return fail(-rc);
  const atl::fs::Node* n = loc.archive_node();
  if (!n || n->type != atl::fs::NodeType::kSymlink) return fail(EINVAL);
  size_t len = n->link_target.size() < size ? n->link_target.size() : size;
  memcpy(buf, n->link_target.data(), len);
  return static_cast<ssize_t>(len);
}

char* getcwd(char* buf, size_t size) {
  const std::string& cwd = atl::fs::current_directory();
  if (!buf) {
    // glibc's extension: allocate (at least `size` bytes when size is given).
    size_t n = size > cwd.size() ? size : cwd.size() + 1;
    buf = static_cast<char*>(malloc(n));
    if (!buf) return fail(ENOMEM), nullptr;
    size = n;
  }
  if (size == 0) return fail(EINVAL), nullptr;
  if (cwd.size() + 1 > size) return fail(ERANGE), nullptr;
  memcpy(buf, cwd.c_str(), cwd.size() + 1);
  return buf;
}

int chdir(const char* path) { return posix(atl::fs::change_directory(path)); }

char* realpath(const char* path, char* resolved) {
  atl::fs::Location loc;
  if (int rc = atl::fs::resolve(path, Follow::kYes, loc); rc < 0) return fail(-rc), nullptr;
  if (!resolved) return strdup(loc.path.c_str());
  if (loc.path.size() >= kRealpathBuffer) return fail(ENAMETOOLONG), nullptr;
  memcpy(resolved, loc.path.c_str(), loc.path.size() + 1);
  return resolved;
}

}  // extern "C"
