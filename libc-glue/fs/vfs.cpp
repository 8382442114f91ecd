// The mount table, mount_disk/mount_memory, the first-use auto-mount and path
// resolution.
#include "vfs.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include <map>
#include <optional>

#include "atoll/fs.h"
#include "atoll/kernel.h"
#include "atoll/platform.h"
#include "blkfront.h"

// Defined by the object scripts/seal-archive.py generates when an app seals an
// archive into its image; weak, so images without one link (to address 0).
extern "C" {
extern const char atoll_sealed_archive_start[] __attribute__((weak));
extern const char atoll_sealed_archive_end[] __attribute__((weak));
}

namespace atl::fs {

namespace {

class BlkDevice final : public SectorDevice {
 public:
  explicit BlkDevice(blk::BlkFront& disk) : m_disk(disk) {}
  uint64_t sectors() const override { return m_disk.sectors(); }
  Result<void> read_sectors(uint64_t sector, void* buf, size_t count) override {
    return m_disk.read(sector, buf, count);
  }

 private:
  blk::BlkFront& m_disk;
};

// Never shrinks: Locations and open files point into it.
std::vector<std::unique_ptr<Mount>>* g_mounts;
std::string* g_cwd;
sched::Mutex g_mount_lock;  // mounting (which blocks on the disk) is one at a time
sched::Mutex g_auto_lock;
bool g_auto_done = false;

std::vector<std::unique_ptr<Mount>>& mounts() {
  if (!g_mounts) g_mounts = new std::vector<std::unique_ptr<Mount>>;
  return *g_mounts;
}

Mount* mount_at(std::string_view point) {
  for (auto& m : mounts()) {
    if (m->point == point) return m.get();
  }
  return nullptr;
}

// Whether some mount point lies strictly below the directory `path`.
bool above_mount_point(std::string_view path) {
  for (auto& m : mounts()) {
    std::string_view p = m->point;
    if (path == "/" ? p.size() > 1 : (p.size() > path.size() && p.substr(0, path.size()) == path && p[path.size()] == '/'))
      return true;
  }
  return false;
}

std::string join(std::string_view dir, std::string_view name) {
  std::string path(dir);
  if (path != "/") path += '/';
  path += name;
  return path;
}

// The components of `path`, last first (so back() is the next to walk).
void push_components(std::string_view path, std::vector<std::string>& stack) {
  std::vector<std::string> parts;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) stack.push_back(std::move(*it));
}

Location root_location() {
  Mount* m = mount_at("/");
  return {m, kRootNode, "/"};
}

// One component down from the directory `at`: a mount point first (it hides
// what the archive has there), then the archive's entry, then a synthetic
// directory above a mount point.
int step(const Location& at, std::string_view name, Location& out) {
  if (!at.is_directory()) return -ENOTDIR;
  std::string path = join(at.path, name);
  if (Mount* m = mount_at(path)) {
    out = {m, kRootNode, std::move(path)};
    return 0;
  }
  if (at.mount) {
    if (std::optional<NodeId> child = at.mount->index->child(at.node, name)) {
      out = {at.mount, *child, std::move(path)};
      return 0;
    }
  }
  if (above_mount_point(path)) {
    out = {nullptr, kRootNode, std::move(path)};
    return 0;
  }
  return -ENOENT;
}

// The location of a resolved path (no symlinks or dot components in it).
int locate(const std::vector<std::string>& parts, Location& out) {
  Location loc = root_location();
  for (const std::string& part : parts) {
    Location next;
    if (int rc = step(loc, part, next); rc < 0) return rc;
    loc = std::move(next);
  }
  out = std::move(loc);
  return 0;
}

void log_line(const std::string& name, const char* line) {
  kernel::console_print("fs: %s: %s\n", name.c_str(), line);
}

Result<void> mount(std::unique_ptr<Mount> m, const char* at) {
  if (!at || at[0] != '/') return Errno::kInval;
  std::optional<std::string> normal = normalize_member_path(at);
  if (!normal) return Errno::kInval;
  m->point = "/" + *normal;
  ParseOptions options;
  options.log = [name = m->name](const char* line) { log_line(name, line); };
  g_mount_lock.lock();
  Result<void> result;
  if (mount_at(m->point)) {
    result = Errno::kBusy;
  } else if (auto index = ArchiveIndex::try_parse(*m->source, options); !index.ok()) {
    result = index.error();
  } else {
    m->index.emplace(std::move(index.value()));
    m->id = static_cast<unsigned>(mounts().size()) + 1;
    kernel::console_print("fs: %s mounted at %s (%zu entries)\n", m->name.c_str(), m->point.c_str(),
                          m->index->node_count() - 1);
    mounts().push_back(std::move(m));
  }
  g_mount_lock.unlock();
  return result;
}

// The archive of a sealed image (docs/images.md) arrives as Xen's boot module;
// an archive linked into the ELF (scripts/seal-archive.py) is the older way.
struct SealedArchive {
  const char* data;
  size_t size;
};

std::optional<SealedArchive> sealed_archive() {
  const auto& boot = platform::boot_info();
  if (boot.module_size) return SealedArchive{reinterpret_cast<const char*>(boot.module_start), boot.module_size};
  const char* start = atoll_sealed_archive_start;
  const char* end = atoll_sealed_archive_end;
  if (start != nullptr && end > start) return SealedArchive{start, static_cast<size_t>(end - start)};
  return std::nullopt;
}

// A read-only disk whose first sector is a ustar header.
bool disk_has_archive(blk::BlkFront& disk) {
  alignas(512) static uint8_t sector[SectorDevice::kSectorSize];
  if (!disk.connected() || disk.sectors() == 0 || !disk.read(0, sector, 1).ok()) return false;
  MemorySource first(sector, sizeof sector);
  return ArchiveIndex::looks_like_archive(first);
}

void auto_mount_now() {
  if (auto archive = sealed_archive()) {
    (void)mount_memory(archive->data, archive->size, "/");
    return;
  }
  if (!blk::probe().ok()) return;
  for (unsigned i = 0; blk::BlkFront* disk = blk::device(i); ++i) {
    if (!disk->connected() || !disk->read_only()) continue;  // a writable disk is an app's raw device
    if (!disk_has_archive(*disk)) {
      kernel::console_print("fs: %s: no ustar archive, not mounted\n", disk->path().c_str());
      continue;
    }
    if (mount_disk(*disk, "/").ok()) return;
  }
}

}  // namespace

Result<void> Mount::read(uint64_t offset, void* buf, size_t len) {
  lock.lock();
  Result<void> r = source->read(offset, buf, len);
  lock.unlock();
  return r;
}

bool Location::is_directory() const {
  return !mount || mount->index->node(node).type == NodeType::kDirectory;
}

Result<void> mount_disk(blk::BlkFront& disk, const char* at, size_t cache_blocks) {
  if (!disk.connected()) return Errno::kNoDev;
  auto m = std::make_unique<Mount>();
  m->name = disk.path();
  m->device = std::make_unique<BlkDevice>(disk);
  m->source = std::make_unique<CachedSource>(*m->device, cache_blocks);
  return mount(std::move(m), at);
}

Result<void> mount_memory(const void* data, size_t size, const char* at) {
  if (!data) return Errno::kInval;
  auto m = std::make_unique<Mount>();
  auto sealed = sealed_archive();
  m->name = sealed && data == sealed->data ? "sealed archive" : "memory archive";
  m->source = std::make_unique<MemorySource>(data, size);
  return mount(std::move(m), at);
}

void auto_mount() { ensure_auto_mounted(); }

void ensure_auto_mounted() {
  if (g_auto_done) return;
  g_auto_lock.lock();
  if (!g_auto_done) {
    if (mounts().empty()) auto_mount_now();
    g_auto_done = true;
  }
  g_auto_lock.unlock();
}

int resolve(const char* path, Follow follow, Location& out) {
  if (!path) return -EFAULT;
  const size_t len = strnlen(path, kMaxPath);
  if (len == 0) return -ENOENT;
  if (len == kMaxPath) return -ENAMETOOLONG;
  ensure_auto_mounted();
  const bool trailing_slash = path[len - 1] == '/';
  std::vector<std::string> pending;
  push_components(path[0] == '/' ? std::string_view(path, len) : join(current_directory(), path), pending);
  std::vector<std::string> resolved;
  Location loc = root_location();
  int hops = 0;
  while (!pending.empty()) {
    std::string part = std::move(pending.back());
    pending.pop_back();
    if (!loc.is_directory()) return -ENOTDIR;
    if (part == ".") continue;
    if (part == "..") {
      if (!resolved.empty()) resolved.pop_back();
      if (int rc = locate(resolved, loc); rc < 0) return rc;
      continue;
    }
    if (part.size() > ArchiveIndex::kMaxNameComponent) return -ENAMETOOLONG;
    Location next;
    if (int rc = step(loc, part, next); rc < 0) return rc;
    const Node* n = next.archive_node();
    if (n && n->type == NodeType::kSymlink && (!pending.empty() || follow == Follow::kYes || trailing_slash)) {
      if (++hops > kMaxSymlinkHops) return -ELOOP;
      push_components(n->link_target, pending);
      if (n->link_target[0] == '/') {
        resolved.clear();
        loc = root_location();
      }
      continue;
    }
    resolved.push_back(std::move(part));
    loc = std::move(next);
  }
  if (trailing_slash && !loc.is_directory()) return -ENOTDIR;
  out = std::move(loc);
  return 0;
}

int stat_location(const Location& loc, struct stat* st) {
  *st = {};
  st->st_blksize = CachedSource::kBlockSize;
  const Node* n = loc.archive_node();
  if (!n) {
    st->st_mode = S_IFDIR | 0555;
    st->st_nlink = 2;
    st->st_ino = 1;
    return 0;
  }
  const mode_t type = n->type == NodeType::kDirectory ? S_IFDIR : n->type == NodeType::kSymlink ? S_IFLNK : S_IFREG;
  st->st_dev = loc.mount->id;
  st->st_ino = index_of(loc.node) + 1;
  st->st_mode = type | n->mode;
  st->st_nlink = n->type == NodeType::kDirectory ? 2 : 1;
  st->st_size = static_cast<off_t>(n->size);
  st->st_blocks = static_cast<blkcnt_t>((n->size + 511) / 512);
  st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = static_cast<time_t>(n->mtime);
  return 0;
}

int stat_path(const char* path, Follow follow, struct stat* st) {
  Location loc;
  if (int rc = resolve(path, follow, loc); rc < 0) return rc;
  return stat_location(loc, st);
}

int list_directory(const Location& dir, std::vector<DirEntry>& out) {
  if (!dir.is_directory()) return -ENOTDIR;
  std::map<std::string, DirEntry, std::less<>> entries;
  if (const Node* n = dir.archive_node()) {
    for (const auto& [name, id] : n->children) {
      const NodeType t = dir.mount->index->node(id).type;
      unsigned char dt = t == NodeType::kDirectory ? DT_DIR : t == NodeType::kSymlink ? DT_LNK : DT_REG;
      entries[name] = {name, dt, index_of(id) + 1u};
    }
  }
  // Mount points one level down, whether or not the archive has them.
  for (auto& m : mounts()) {
    std::string_view p = m->point;
    std::string prefix = dir.path == "/" ? "/" : dir.path + "/";
    if (p.size() <= prefix.size() || p.substr(0, prefix.size()) != prefix) continue;
    std::string_view rest = p.substr(prefix.size());
    std::string name(rest.substr(0, rest.find('/')));
    entries[name] = {name, DT_DIR, 1};
  }
  struct stat self;
  stat_location(dir, &self);
  out.clear();
  out.push_back({".", DT_DIR, static_cast<uint64_t>(self.st_ino)});
  out.push_back({"..", DT_DIR, dir.mount && dir.node != kRootNode ? index_of(dir.mount->index->node(dir.node).parent) + 1u : 1u});
  for (auto& [name, entry] : entries) out.push_back(std::move(entry));
  return 0;
}

const std::string& current_directory() {
  if (!g_cwd) g_cwd = new std::string("/");
  return *g_cwd;
}

int change_directory(const char* path) {
  Location loc;
  if (int rc = resolve(path, Follow::kYes, loc); rc < 0) return rc;
  if (!loc.is_directory()) return -ENOTDIR;
  current_directory();
  *g_cwd = loc.path;
  return 0;
}

}  // namespace atl::fs
