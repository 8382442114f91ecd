// The descriptor table: a vector of owned Files, grown on demand, with the
// console's three descriptors always present.
#include <errno.h>

#include <vector>

#include "atoll/fd.h"

namespace atl::fd {

ssize_t File::read(void*, size_t) { return -EBADF; }
ssize_t File::write(const void*, size_t) { return -EBADF; }
ssize_t File::pread(void*, size_t, off_t) { return -ESPIPE; }
off_t File::lseek(off_t, int) { return -ESPIPE; }

int File::fstat(struct stat* st) {
  *st = {};
  return 0;
}

File& console_file();  // syscalls.cpp

namespace {

// Index = descriptor; 0-2 stay empty and mean the console.
std::vector<std::unique_ptr<File>>* g_table;

std::vector<std::unique_ptr<File>>& table() {
  if (!g_table) g_table = new std::vector<std::unique_ptr<File>>(16);
  return *g_table;
}

}  // namespace

int install(std::unique_ptr<File> file) {
  auto& t = table();
  for (size_t fd = 3; fd < t.size(); ++fd) {
    if (!t[fd]) {
      t[fd] = std::move(file);
      return static_cast<int>(fd);
    }
  }
  if (t.size() >= kMaxDescriptors) return -EMFILE;
  t.push_back(std::move(file));
  return static_cast<int>(t.size() - 1);
}

File* get(int fd) {
  if (fd >= 0 && fd <= 2) return &console_file();
  auto& t = table();
  if (fd < 0 || static_cast<size_t>(fd) >= t.size()) return nullptr;
  return t[fd].get();
}

int remove(int fd) {
  if (fd >= 0 && fd <= 2) return 0;  // the console stays
  auto& t = table();
  if (fd < 0 || static_cast<size_t>(fd) >= t.size() || !t[fd]) return -EBADF;
  std::unique_ptr<File> file = std::move(t[fd]);
  return file->close();
}

int limit() { return static_cast<int>(table().size()); }

}  // namespace atl::fd
