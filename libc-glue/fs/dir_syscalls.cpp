// <dirent.h>'s calls over the archive file system: a DIR holds a directory
// descriptor (open(O_DIRECTORY)) and a snapshot of its entries, taken at
// opendir/fdopendir and again at rewinddir.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>

#include "atoll/fd.h"
#include "vfs.h"

#undef errno
extern "C" int errno;

struct __atoll_dir {
  int fd;
  atl::fs::Location location;
  std::vector<atl::fs::DirEntry> entries;
  size_t next = 0;
  struct dirent entry;
};

namespace {

// As in fs_syscalls.cpp: both the global errno and the thread's.
void set_errno(int e) {
  errno = e;
  _REENT->_errno = e;
}

void fill(struct dirent* out, const atl::fs::DirEntry& in, size_t next) {
  *out = {};
  out->d_ino = static_cast<ino_t>(in.ino);
  out->d_off = static_cast<off_t>(next);
  out->d_reclen = sizeof *out;
  out->d_type = in.type;
  size_t len = in.name.size() < sizeof out->d_name ? in.name.size() : sizeof out->d_name - 1;
  memcpy(out->d_name, in.name.data(), len);
}

}  // namespace

extern "C" {

DIR* fdopendir(int fd) {
  atl::fd::File* file = atl::fd::get(fd);
  if (!file) return set_errno(EBADF), nullptr;
  const atl::fs::Location* where = atl::fs::directory_of(file);
  if (!where) return set_errno(ENOTDIR), nullptr;
  auto* dir = new DIR{fd, *where, {}};
  if (int rc = atl::fs::list_directory(dir->location, dir->entries); rc < 0) {
    delete dir;
    return set_errno(-rc), nullptr;
  }
  return dir;
}

DIR* opendir(const char* path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return nullptr;
  DIR* dir = fdopendir(fd);
  if (!dir) {
    int e = errno;
    close(fd);
    set_errno(e);
  }
  return dir;
}

struct dirent* readdir(DIR* dir) {
  if (!dir) return set_errno(EBADF), nullptr;
  if (dir->next >= dir->entries.size()) return nullptr;  // the end: errno unchanged
  fill(&dir->entry, dir->entries[dir->next], dir->next + 1);
  ++dir->next;
  return &dir->entry;
}

int readdir_r(DIR* dir, struct dirent* entry, struct dirent** result) {
  if (!dir) return EBADF;
  *result = nullptr;
  if (dir->next >= dir->entries.size()) return 0;
  fill(entry, dir->entries[dir->next], dir->next + 1);
  ++dir->next;
  *result = entry;
  return 0;
}

void rewinddir(DIR* dir) {
  if (!dir) return;
  (void)atl::fs::list_directory(dir->location, dir->entries);
  dir->next = 0;
}

long telldir(DIR* dir) { return dir ? static_cast<long>(dir->next) : -1; }

void seekdir(DIR* dir, long position) {
  if (dir && position >= 0) dir->next = static_cast<size_t>(position);
}

int dirfd(DIR* dir) {
  if (!dir) return set_errno(EINVAL), -1;
  return dir->fd;
}

int closedir(DIR* dir) {
  if (!dir) return set_errno(EBADF), -1;
  int rc = close(dir->fd);
  delete dir;
  return rc;
}

int alphasort(const struct dirent** a, const struct dirent** b) { return strcmp((*a)->d_name, (*b)->d_name); }

int scandir(const char* path, struct dirent*** names, int (*filter)(const struct dirent*),
            int (*compare)(const struct dirent**, const struct dirent**)) {
  DIR* dir = opendir(path);
  if (!dir) return -1;
  struct dirent** list = nullptr;
  size_t count = 0;
  for (struct dirent* e; (e = readdir(dir)) != nullptr;) {
    if (filter && !filter(e)) continue;
    auto* grown = static_cast<struct dirent**>(realloc(list, (count + 1) * sizeof *list));
    auto* copy = grown ? static_cast<struct dirent*>(malloc(sizeof *e)) : nullptr;
    if (grown) list = grown;
    if (!copy) {
      for (size_t i = 0; i < count; ++i) free(list[i]);
      free(list);
      closedir(dir);
      return set_errno(ENOMEM), -1;
    }
    memcpy(copy, e, sizeof *e);
    list[count++] = copy;
  }
  closedir(dir);
  if (compare) {
    std::sort(list, list + count, [compare](const struct dirent* a, const struct dirent* b) {
      return compare(&a, &b) < 0;
    });
  }
  *names = list;
  return static_cast<int>(count);
}

}  // extern "C"
