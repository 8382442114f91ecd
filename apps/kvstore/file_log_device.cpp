// FileLogDevice: a regular file treated as a disk of fixed capacity, so the
// native build exercises exactly the guest's on-disk format. Flush is
// fdatasync.
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log_device.h"

namespace kv {

namespace {

class FileLogDevice final : public LogDevice {
 public:
  FileLogDevice(int fd, uint64_t capacity) : m_fd(fd), m_capacity(capacity) {}
  ~FileLogDevice() override { ::close(m_fd); }

  uint64_t capacity() const override { return m_capacity; }

  bool read(uint64_t offset, void* buf, size_t len) override {
    if (!in_range(offset, len)) return false;
    auto* p = static_cast<char*>(buf);
    while (len > 0) {
      ssize_t n = ::pread(m_fd, p, len, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) {  // inside capacity but past a file someone shortened: zeroes, like a fresh disk
        memset(p, 0, len);
        return true;
      }
      p += n;
      offset += static_cast<uint64_t>(n);
      len -= static_cast<size_t>(n);
    }
    return true;
  }

  bool write(uint64_t offset, const void* buf, size_t len) override {
    if (!in_range(offset, len)) return false;
    const auto* p = static_cast<const char*>(buf);
    while (len > 0) {
      ssize_t n = ::pwrite(m_fd, p, len, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      p += n;
      offset += static_cast<uint64_t>(n);
      len -= static_cast<size_t>(n);
    }
    return true;
  }

  bool flush() override { return ::fdatasync(m_fd) == 0; }

 private:
  bool in_range(uint64_t offset, size_t len) const {
    return block_aligned(offset, len) && offset <= m_capacity && len <= m_capacity - offset;
  }

  int m_fd;
  uint64_t m_capacity;
};

}  // namespace

std::unique_ptr<LogDevice> try_open_file_log_device(const std::string& path, uint64_t capacity, std::string& error) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "cannot open " + path + ": " + strerror(errno);
    return nullptr;
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = path + " is not a regular file";
    ::close(fd);
    return nullptr;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < capacity && ::ftruncate(fd, static_cast<off_t>(capacity)) != 0) {
    error = "cannot extend " + path + ": " + strerror(errno);
    ::close(fd);
    return nullptr;
  }
  // A file already larger than asked for keeps its size: its log layout was made for it.
  uint64_t usable = (size > capacity ? size : capacity) / LogDevice::kBlockSize * LogDevice::kBlockSize;
  return std::make_unique<FileLogDevice>(fd, usable);
}

}  // namespace kv
