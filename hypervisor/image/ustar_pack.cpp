#include "ustar_pack.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "archive_index.h"
#include "block_source.h"
#include "ustar.h"

namespace atl::hv::image {

namespace {

constexpr size_t kBlock = fs::ustar::kBlockSize;
constexpr uint64_t kMaxEntrySize = 077777777777ULL;  // 11 octal digits

using UstarHeader = fs::ustar::Header;


// `width - 1` zero-padded octal digits and a NUL; callers keep `value` in range.
void octal(char* field, size_t width, uint64_t value) {
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0; value >>= 3) field[i] = static_cast<char>('0' + (value & 7));
}

unsigned checksum(const UstarHeader& h) {
  auto* b = reinterpret_cast<const uint8_t*>(&h);
  unsigned sum = 0;
  for (size_t i = 0; i < kBlock; ++i)
    sum += (i >= offsetof(UstarHeader, chksum) && i < offsetof(UstarHeader, chksum) + 8) ? ' ' : b[i];
  return sum;
}

// Splits a path into ustar's prefix and name; false if it cannot fit.
bool put_path(UstarHeader& h, const std::string& path) {
  if (path.size() <= sizeof h.name) {
    std::memcpy(h.name, path.data(), path.size());
    return true;
  }
  for (size_t slash = path.find('/'); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    if (slash <= sizeof h.prefix && path.size() - slash - 1 <= sizeof h.name && slash + 1 < path.size()) {
      std::memcpy(h.prefix, path.data(), slash);
      std::memcpy(h.name, path.data() + slash + 1, path.size() - slash - 1);
      return true;
    }
  }
  return false;
}

class Packer {
 public:
  Packer(uint64_t mtime, PackResult& result) : m_mtime(mtime), m_result(result) {}

  bool add_tree(const std::string& dir, const std::string& prefix) {
    DIR* d = opendir(dir.c_str());
    if (!d) return fail("cannot read directory " + dir + ": " + strerror(errno));
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
    closedir(d);
    std::sort(names.begin(), names.end());
    for (const auto& name : names)
      if (!add_entry(dir + "/" + name, prefix + name)) return false;
    return true;
  }

  std::vector<uint8_t> finish() {
    m_out.resize(m_out.size() + 2 * kBlock, 0);
    return std::move(m_out);
  }

 private:
  bool fail(std::string message) {
    m_result.error = std::move(message);
    return false;
  }

  bool add_entry(const std::string& path, const std::string& arcname) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return fail("cannot stat " + path + ": " + strerror(errno));
    UstarHeader h{};
    if (S_ISDIR(st.st_mode)) {
      if (!header(h, arcname + "/", fs::ustar::kDirectory, 0755, 0, path)) return false;
      return add_tree(path, arcname + "/");
    }
    if (S_ISLNK(st.st_mode)) {
      char target[sizeof h.linkname + 1];
      ssize_t n = readlink(path.c_str(), target, sizeof target);
      if (n < 0) return fail("cannot read link " + path + ": " + strerror(errno));
      if (static_cast<size_t>(n) > sizeof h.linkname) return fail(path + ": link target longer than ustar's 100 bytes");
      std::memcpy(h.linkname, target, n);
      return header(h, arcname, fs::ustar::kSymlink, 0777, 0, path);
    }
    if (!S_ISREG(st.st_mode)) {
      m_result.skipped.push_back(path);
      return true;
    }
    if (static_cast<uint64_t>(st.st_size) > kMaxEntrySize) return fail(path + ": larger than ustar's 8 GiB");
    return header(h, arcname, fs::ustar::kRegular, (st.st_mode & S_IXUSR) ? 0755 : 0644, st.st_size, path) && contents(path, st.st_size);
  }

  bool header(UstarHeader& h, const std::string& arcname, char type, unsigned mode, uint64_t size, const std::string& path) {
    if (!put_path(h, arcname)) return fail(path + ": name too long for ustar (100 bytes, or 155 + 100 split at a '/')");
    octal(h.mode, sizeof h.mode, mode);
    octal(h.uid, sizeof h.uid, 0);
    octal(h.gid, sizeof h.gid, 0);
    octal(h.size, sizeof h.size, size);
    octal(h.mtime, sizeof h.mtime, m_mtime);
    h.typeflag = type;
    std::memcpy(h.magic, "ustar", 6);
    std::memcpy(h.version, "00", 2);
    octal(h.chksum, 7, checksum(h));
    h.chksum[7] = ' ';
    auto* b = reinterpret_cast<const uint8_t*>(&h);
    m_out.insert(m_out.end(), b, b + kBlock);
    return true;
  }

  bool contents(const std::string& path, uint64_t size) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail("cannot open " + path + ": " + strerror(errno));
    size_t at = m_out.size();
    m_out.resize(at + (size + kBlock - 1) / kBlock * kBlock, 0);
    uint64_t done = 0;
    while (done < size) {
      ssize_t n = read(fd, m_out.data() + at + done, size - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += n;
    }
    close(fd);
    if (done != size) return fail(path + " changed size while it was being read");
    return true;
  }

  uint64_t m_mtime;
  PackResult& m_result;
  std::vector<uint8_t> m_out;
};

}  // namespace

PackResult pack_directory(const std::string& dir, uint64_t mtime) {
  PackResult result;
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    result.error = dir + " is not a directory";
    return result;
  }
  Packer p(mtime, result);
  if (p.add_tree(dir, "")) result.archive = p.finish();
  return result;
}

std::string check_archive(std::span<const uint8_t> bytes) {
  fs::MemorySource source(bytes.data(), bytes.size());
  std::string reason;
  fs::ParseOptions options;
  options.log = [&reason](const char* line) { reason = line; };
  auto index = fs::ArchiveIndex::try_parse(source, options);
  if (index.ok()) return "";
  return reason.empty() ? "not a ustar archive the guest can mount" : reason;
}

}  // namespace atl::hv::image
