// The guest's file namespace: a table of mounted archives (never unmounted,
// so open files may keep pointers into it), path resolution from "/" or the
// current directory, and the first-use auto-mount (see docs/filesystem.md).
//
// Paths that lead to no mounted archive but lie above a mount point are
// directories too ("synthetic": mounting at /srv/site makes /srv exist).
//
// Functions that answer a POSIX call return 0 (or a count) or a negative errno
// with newlib's values, like atoll/fd.h's File.
#pragma once

#include <sys/stat.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive_index.h"
#include "atoll/fd.h"
#include "atoll/result.h"
#include "atoll/sched.h"
#include "block_source.h"

namespace atl::fs {

struct Mount {
  unsigned id = 0;      // st_dev of everything in it: 1, 2, ...
  std::string point;    // "/" or "/a/b"
  std::string name;     // for console messages: "device/vbd/768", "sealed archive"
  std::unique_ptr<SectorDevice> device;  // disks only
  std::unique_ptr<ByteSource> source;
  std::optional<ArchiveIndex> index;
  sched::Mutex lock;    // one reader at a time in a disk's cache

  // Bytes of the archive; blocks the calling thread on a disk.
  Result<void> read(uint64_t offset, void* buf, size_t len);
};

// Where a path leads.
struct Location {
  Mount* mount = nullptr;  // nullptr: a synthetic directory
  NodeId node = kRootNode;
  std::string path;        // absolute and resolved: "/" or "/a/b"

  bool is_directory() const;
  const Node* archive_node() const { return mount ? &mount->index->node(node) : nullptr; }
};

// What to do when the last component is a symlink.
enum class Follow : uint8_t { kNo, kYes };

constexpr size_t kMaxPath = 4096;
constexpr int kMaxSymlinkHops = 40;

// Mounts what the image or the disks offer on first use (once).
void ensure_auto_mounted();

// -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG, -EFAULT, or 0 with `out` filled.
int resolve(const char* path, Follow follow, Location& out);
// 0, with `st` filled.
int stat_location(const Location& loc, struct stat* st);
// resolve() then stat_location().
int stat_path(const char* path, Follow follow, struct stat* st);

// open(2) on the namespace: a File for `path` (regular files and directories),
// or -errno: EROFS for anything that would write or create, EISDIR, ENOTDIR
// (O_DIRECTORY, or a file on the way), ELOOP (O_NOFOLLOW on a symlink), EEXIST.
int open_file(const char* path, int flags, std::unique_ptr<fd::File>& out);
// The directory behind an open descriptor's File (for fdopendir), or nullptr.
const Location* directory_of(const fd::File* file);

struct DirEntry {
  std::string name;
  unsigned char type;  // DT_*
  uint64_t ino;
};
// ".", "..", then the entries sorted by name (mount points below it included).
int list_directory(const Location& dir, std::vector<DirEntry>& out);

int change_directory(const char* path);
const std::string& current_directory();

}  // namespace atl::fs
