#include "process_usage.h"

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

namespace atl::hv {

namespace {

// The first `n` space-separated numbers of /proc/PID/FILE.
bool read_numbers(pid_t pid, const char* file, uint64_t* out, int n) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), file);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[256];
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return false;
  buf[len] = '\0';
  const char* p = buf;
  for (int i = 0; i < n; ++i) {
    int used = 0;
    if (sscanf(p, "%" SCNu64 "%n", &out[i], &used) != 1) return false;
    p += used;
  }
  return true;
}

}  // namespace

std::optional<uint64_t> process_cpu_ns(pid_t pid) {
  uint64_t v[1];
  if (pid <= 0 || !read_numbers(pid, "schedstat", v, 1)) return std::nullopt;
  return v[0];
}

std::optional<uint64_t> process_rss_bytes(pid_t pid) {
  uint64_t v[2];
  if (pid <= 0 || !read_numbers(pid, "statm", v, 2)) return std::nullopt;
  return v[1] * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace atl::hv
