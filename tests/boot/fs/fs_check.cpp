// The archive file system from an app's side, through newlib's calls only
// (plus atl::fs::mount_* where a mode says so). run_fs_test.py builds the
// archive and says what it holds, as specs on the command line or in a
// manifest inside the archive (the command line is at most 1023 bytes):
//
//   file:PATH:SIZE:FNV1A64    a regular file and the hash of its bytes
//   pattern:PATH:SIZE         a file of pattern() words (read, seek, pread)
//   dir:PATH:NAME,SUBDIR/,... the entries of a directory, besides . and ..
//   link:PATH:TARGET          a symlink
//   manifest:PATH:SIZE:HASH   a file of such specs, one per line
//
// Modes: "full" (specs, then errno and path checks on the runner's tree),
// "sealed" (an archive sealed into the image; no disk), "bad" (a malformed
// archive on the disk: nothing is mounted, an explicit mount says kInval),
// "rw-ignored" (a writable disk is not auto-mounted; mounted explicitly at /rw).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>
#include <vector>

#include "atoll/fs.h"
#include "blkfront.h"
#include "check.h"

// The sealed archive's bounds (scripts/seal-archive.py); absent from the
// image without one.
extern "C" {
extern const char atoll_sealed_archive_start[] __attribute__((weak));
extern const char atoll_sealed_archive_end[] __attribute__((weak));
}

namespace {

std::string g_root;  // prefixed to every spec path ("/rw" in rw-ignored)

uint64_t fnv1a(uint64_t h, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ULL;

// The same words as run_fs_test.py's pattern file: little-endian, 8 bytes each.
uint8_t pattern_byte(uint64_t offset) {
  uint64_t x = (offset / 8 + 1) * 0x9E3779B97F4A7C15ULL;
  x ^= x >> 29;
  return static_cast<uint8_t>(x >> (8 * (offset % 8)));
}

bool pattern_matches(const uint8_t* buf, size_t n, uint64_t offset) {
  for (size_t i = 0; i < n; ++i) {
    if (buf[i] != pattern_byte(offset + i)) return false;
  }
  return true;
}

std::vector<std::string> split(const std::string& s, char sep, size_t max_parts = SIZE_MAX) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (parts.size() + 1 < max_parts) {
    size_t at = s.find(sep, start);
    if (at == std::string::npos) break;
    parts.push_back(s.substr(start, at - start));
    start = at + 1;
  }
  parts.push_back(s.substr(start));
  return parts;
}

// Reads the whole file in varying chunk sizes; returns its bytes' hash.
bool read_all(const char* path, uint64_t size, uint64_t& hash, std::string* keep = nullptr) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return false;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == size;
  static uint8_t buf[65536];
  const size_t chunks[] = {1, 7, 512, 4096, 65536, 1000};
  uint64_t total = 0;
  hash = kFnvBasis;
  for (unsigned i = 0; ok; ++i) {
    ssize_t n = read(fd, buf, chunks[i % 6]);
    if (n < 0) ok = false;
    if (n <= 0) break;
    hash = fnv1a(hash, buf, static_cast<size_t>(n));
    if (keep) keep->append(reinterpret_cast<char*>(buf), static_cast<size_t>(n));
    total += static_cast<uint64_t>(n);
  }
  ok = ok && total == size && read(fd, buf, 1) == 0;
  return close(fd) == 0 && ok;
}

void check_file(const std::string& path, uint64_t size, uint64_t hash, std::string* keep = nullptr) {
  struct stat st;
  CHECK(stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) == size,
        "stat %s: a %llu-byte file", path.c_str(), static_cast<unsigned long long>(size));
  uint64_t got = 0;
  CHECK(read_all(path.c_str(), size, got, keep) && got == hash, "read %s: hash %016llx", path.c_str(),
        static_cast<unsigned long long>(got));
}

void check_pattern(const std::string& path, uint64_t size) {
  int fd = open(path.c_str(), O_RDONLY);
  CHECK(fd >= 0, "open %s", path.c_str());
  if (fd < 0) return;
  static uint8_t buf[65536];
  bool ok = true;
  uint64_t offset = 0;
  while (ok) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) { ok = n == 0; break; }
    ok = pattern_matches(buf, static_cast<size_t>(n), offset);
    offset += static_cast<uint64_t>(n);
  }
  CHECK(ok && offset == size, "read %s sequentially: %llu bytes, all as expected", path.c_str(),
        static_cast<unsigned long long>(offset));
  const uint64_t probes[] = {0, 1, 4095, 4096, 4097, 1048575, 1048576, size / 2 + 3, size - 100, size - 1};
  ok = true;
  for (uint64_t p : probes) {
    size_t want = static_cast<size_t>(size - p < 100 ? size - p : 100);
    ok = ok && pread(fd, buf, 100, static_cast<off_t>(p)) == static_cast<ssize_t>(want) && pattern_matches(buf, want, p);
  }
  CHECK(ok, "pread at 10 offsets across cache blocks, short at the end");
  CHECK(pread(fd, buf, 10, static_cast<off_t>(size)) == 0, "pread at the end reads nothing");
  CHECK(pread(fd, buf, 10, -1) == -1 && errno == EINVAL, "pread at a negative offset: EINVAL");
  CHECK(lseek(fd, 0, SEEK_END) == static_cast<off_t>(size), "lseek(SEEK_END) is the size");
  CHECK(lseek(fd, -8, SEEK_END) == static_cast<off_t>(size - 8) && read(fd, buf, 100) == 8 &&
        pattern_matches(buf, 8, size - 8), "lseek(-8, SEEK_END), then read the last 8 bytes");
  CHECK(lseek(fd, 12345, SEEK_SET) == 12345 && lseek(fd, 1000, SEEK_CUR) == 13345 && read(fd, buf, 64) == 64 &&
        pattern_matches(buf, 64, 13345), "lseek SEEK_SET + SEEK_CUR, then read");
  CHECK(lseek(fd, -20000, SEEK_CUR) == -1 && errno == EINVAL, "lseek before the start: EINVAL");
  CHECK(lseek(fd, static_cast<off_t>(size) + 5000, SEEK_SET) == static_cast<off_t>(size) + 5000 && read(fd, buf, 10) == 0,
        "lseek past the end, then read: 0");
  CHECK(close(fd) == 0, "close");
}

void check_dir(const std::string& path, const std::string& list) {
  std::set<std::string> want;
  for (const std::string& name : split(list, ',')) {
    if (!name.empty()) want.insert(name);
  }
  DIR* d = opendir(path.c_str());
  CHECK(d != nullptr, "opendir %s", path.c_str());
  if (!d) return;
  std::set<std::string> got;
  bool dots = false;
  unsigned count = 0;
  for (struct dirent* e; (e = readdir(d)) != nullptr; ++count) {
    std::string name = e->d_name;
    if (name == "." || name == "..") { dots = dots || name == ".."; continue; }
    got.insert(name + (e->d_type == DT_DIR ? "/" : ""));
  }
  CHECK(got == want && dots, "readdir %s: %zu entries as expected, with . and ..", path.c_str(), got.size());
  if (got != want) {
    for (auto& n : got) printf("  got: %s\n", n.c_str());
  }
  rewinddir(d);
  unsigned again = 0;
  while (readdir(d)) ++again;
  CHECK(again == count, "rewinddir: the same %u entries again", again);
  CHECK(closedir(d) == 0, "closedir");
}

void check_link(const std::string& path, const std::string& target) {
  struct stat st;
  CHECK(lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode), "lstat %s: a symlink", path.c_str());
  char buf[256] = {};
  CHECK(readlink(path.c_str(), buf, sizeof buf - 1) == static_cast<ssize_t>(target.size()) && target == buf,
        "readlink %s: %s", path.c_str(), buf);
  CHECK(stat(path.c_str(), &st) == 0 && !S_ISLNK(st.st_mode), "stat %s follows it", path.c_str());
}

void run_spec(const std::string& spec);

void run_manifest(const std::string& path, uint64_t size, uint64_t hash) {
  std::string text;
  check_file(path, size, hash, &text);
  for (const std::string& line : split(text, '\n')) {
    if (!line.empty()) run_spec(line);
  }
}

void run_spec(const std::string& spec) {
  std::vector<std::string> f = split(spec, ':', 4);
  const std::string path = f.size() > 1 ? g_root + f[1] : "";
  auto num = [&f](size_t i, int base) { return f.size() > i ? strtoull(f[i].c_str(), nullptr, base) : 0; };
  if (f[0] == "file" && f.size() == 4) check_file(path, num(2, 10), num(3, 16));
  else if (f[0] == "pattern" && f.size() == 3) check_pattern(path, num(2, 10));
  else if (f[0] == "dir" && f.size() == 3) check_dir(path.empty() ? "/" : path, f[2]);
  else if (f[0] == "link" && f.size() == 3) check_link(path, f[2]);
  else if (f[0] == "manifest" && f.size() == 4) run_manifest(path, num(2, 10), num(3, 16));
  else CHECK(false, "spec understood: %s", spec.c_str());
}

int open_errno(const char* path, int flags) {
  errno = 0;
  int fd = open(path, flags, 0644);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  return errno;
}

// The runner's tree: /hello.txt, /dir/{a.txt,sub/}, /link -> hello.txt.
void check_errors() {
  struct stat st;
  CHECK(open_errno("/nonexistent", O_RDONLY) == ENOENT, "open a missing file: ENOENT");
  CHECK(open_errno("/hello.txt/x", O_RDONLY) == ENOTDIR, "open below a file: ENOTDIR");
  CHECK(stat("/hello.txt/", &st) == -1 && errno == ENOTDIR, "stat a file with a trailing slash: ENOTDIR");
  CHECK(open_errno("/hello.txt", O_WRONLY) == EROFS, "open for writing: EROFS");
  CHECK(open_errno("/hello.txt", O_RDWR) == EROFS, "open read-write: EROFS");
  CHECK(open_errno("/hello.txt", O_RDONLY | O_TRUNC) == EROFS, "open with O_TRUNC: EROFS");
  CHECK(open_errno("/new.txt", O_WRONLY | O_CREAT) == EROFS, "create a file: EROFS");
  CHECK(open_errno("/nodir/new.txt", O_WRONLY | O_CREAT) == ENOENT, "create in a missing directory: ENOENT");
  CHECK(open_errno("/hello.txt", O_RDONLY | O_CREAT | O_EXCL) == EEXIST, "O_CREAT|O_EXCL on a file: EEXIST");
  CHECK(open_errno("/dir", O_WRONLY) == EISDIR, "open a directory for writing: EISDIR");
  CHECK(open_errno("/hello.txt", O_RDONLY | O_DIRECTORY) == ENOTDIR, "O_DIRECTORY on a file: ENOTDIR");
  CHECK(open_errno("/link", O_RDONLY | O_NOFOLLOW) == ELOOP, "O_NOFOLLOW on a symlink: ELOOP");
  CHECK(access("/hello.txt", R_OK) == 0, "access R_OK");
  CHECK(access("/hello.txt", W_OK) == -1 && errno == EROFS, "access W_OK: EROFS");
  CHECK(access("/nonexistent", F_OK) == -1 && errno == ENOENT, "access a missing file: ENOENT");
  CHECK(opendir("/hello.txt") == nullptr && errno == ENOTDIR, "opendir a file: ENOTDIR");
  CHECK(opendir("/nonexistent") == nullptr && errno == ENOENT, "opendir a missing directory: ENOENT");

  char buf[64];
  int fd = open("/dir", O_RDONLY);
  CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode), "open a directory read-only; fstat says directory");
  CHECK(read(fd, buf, sizeof buf) == -1 && errno == EISDIR, "read a directory: EISDIR");
  DIR* d = fdopendir(fd);
  CHECK(d != nullptr && dirfd(d) == fd && closedir(d) == 0, "fdopendir on it, closedir");
  fd = open("/hello.txt", O_RDONLY);
  CHECK(write(fd, "x", 1) == -1 && errno == EBADF, "write to a read-only descriptor: EBADF");
  CHECK(close(fd) == 0 && close(fd) == -1 && errno == EBADF, "close twice: EBADF");

  FILE* f = fopen("/hello.txt", "r");
  CHECK(f && fgets(buf, sizeof buf, f) && strcmp(buf, "hello, archive\n") == 0 && fclose(f) == 0, "stdio: fopen, fgets");
  CHECK(fopen("/hello.txt", "w") == nullptr && errno == EROFS, "stdio: fopen for writing: EROFS");

  CHECK(chdir("/dir") == 0 && getcwd(buf, sizeof buf) && strcmp(buf, "/dir") == 0, "chdir /dir, getcwd");
  CHECK(open_errno("a.txt", O_RDONLY) == 0 && stat("../hello.txt", &st) == 0 && stat("sub/./../a.txt", &st) == 0,
        "relative paths from the current directory");
  CHECK(chdir("/hello.txt") == -1 && errno == ENOTDIR && chdir("/") == 0, "chdir to a file: ENOTDIR");
  CHECK(stat("//dir///a.txt", &st) == 0 && stat("/dir/../../../hello.txt", &st) == 0, "extra slashes; .. stops at /");
  char* real = realpath("/dir/./sub/../a.txt", nullptr);
  CHECK(real && strcmp(real, "/dir/a.txt") == 0, "realpath: %s", real ? real : "(null)");
  free(real);
  real = realpath("/link", nullptr);
  CHECK(real && strcmp(real, "/hello.txt") == 0, "realpath follows a symlink: %s", real ? real : "(null)");
  free(real);
}

void check_sealed_extras() {
  struct stat st;
  CHECK(open_errno("/nonexistent", O_RDONLY) == ENOENT, "open a missing file: ENOENT");
  CHECK(open_errno("/index.html", O_WRONLY) == EROFS, "open for writing: EROFS");
  auto r = atl::fs::mount_memory(atoll_sealed_archive_start, atoll_sealed_archive_end - atoll_sealed_archive_start,
                                 "/again/here");
  CHECK(r.ok(), "mount_memory of the sealed bytes at /again/here");
  CHECK(stat("/again", &st) == 0 && S_ISDIR(st.st_mode), "/again exists as a directory above the mount point");
  CHECK(stat("/again/here/index.html", &st) == 0, "a file under the second mount");
  CHECK(atl::fs::mount_memory(atoll_sealed_archive_start, 1024, "/again/here").error() == atl::Errno::kBusy,
        "a second mount at the same point: kBusy");
  static char junk[1024];
  memset(junk, 'x', sizeof junk);
  CHECK(atl::fs::mount_memory(junk, sizeof junk, "/bad").error() == atl::Errno::kInval,
        "mount_memory of bytes that are no archive: kInval");
  CHECK(atl::fs::mount_memory(atoll_sealed_archive_start, 100, "relative").error() == atl::Errno::kInval,
        "a relative mount point: kInval");
}

void check_bad() {
  struct stat st;
  CHECK(open_errno("/hello.txt", O_RDONLY) == ENOENT, "nothing mounted: open is ENOENT");
  CHECK(stat("/", &st) == 0 && S_ISDIR(st.st_mode), "/ is still a directory");
  atl::blk::BlkFront* disk = atl::blk::device(0);
  CHECK(disk != nullptr, "the disk is there");
  if (disk) {
    auto r = atl::fs::mount_disk(*disk, "/x");
    CHECK(!r.ok() && r.error() == atl::Errno::kInval, "mount_disk of the malformed archive: kInval");
  }
}

void check_rw_ignored() {
  CHECK(open_errno("/hello.txt", O_RDONLY) == ENOENT, "a writable disk is not auto-mounted");
  atl::blk::BlkFront* disk = atl::blk::device(0);
  CHECK(disk && !disk->read_only(), "the disk is there, writable");
  if (disk) CHECK(atl::fs::mount_disk(*disk, "/rw").ok(), "mounted explicitly at /rw");
  g_root = "/rw";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "bad") check_bad();
  if (mode == "rw-ignored") check_rw_ignored();
  for (int i = 2; i < argc; ++i) run_spec(argv[i]);
  if (mode == "full") check_errors();
  if (mode == "sealed") check_sealed_extras();
  return check_result("fs_check");
}
