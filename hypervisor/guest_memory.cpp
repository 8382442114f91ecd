#include "guest_memory.h"

#include <cerrno>
#include <sys/mman.h>
#include <unistd.h>

namespace atl::hv {

using hosted::kHvFramesCount;
using hosted::kPageSize;

std::optional<GuestMemory> GuestMemory::try_create(uint64_t memory_size, std::string& error) {
  if (memory_size == 0 || memory_size % kPageSize || memory_size > hosted::kMaxMemory) {
    error = "guest memory must be a non-zero multiple of 4 KiB below the hypervisor frames window";
    return std::nullopt;
  }
  GuestMemory m;
  m.m_size = memory_size;
  m.m_ram_fd = memfd_create("atoll-guest-ram", MFD_CLOEXEC);
  m.m_frames_fd = memfd_create("atoll-hv-frames", MFD_CLOEXEC);
  if (m.m_ram_fd < 0 || m.m_frames_fd < 0) { error = std::string("memfd_create: ") + strerror(errno); return std::nullopt; }
  if (ftruncate(m.m_ram_fd, memory_size) != 0 || ftruncate(m.m_frames_fd, kHvFramesCount * kPageSize) != 0) {
    error = std::string("sizing guest memory: ") + strerror(errno);
    return std::nullopt;
  }
  void* ram = mmap(nullptr, memory_size, PROT_READ | PROT_WRITE, MAP_SHARED, m.m_ram_fd, 0);
  void* frames = mmap(nullptr, kHvFramesCount * kPageSize, PROT_READ | PROT_WRITE, MAP_SHARED, m.m_frames_fd, 0);
  if (ram == MAP_FAILED || frames == MAP_FAILED) {
    error = std::string("mapping guest memory: ") + strerror(errno);
    if (ram != MAP_FAILED) munmap(ram, memory_size);
    if (frames != MAP_FAILED) munmap(frames, kHvFramesCount * kPageSize);
    return std::nullopt;
  }
  m.m_ram = static_cast<uint8_t*>(ram);
  m.m_frames = static_cast<uint8_t*>(frames);
  return m;
}

GuestMemory::GuestMemory(GuestMemory&& o) noexcept
    : m_size(o.m_size), m_ram_fd(o.m_ram_fd), m_frames_fd(o.m_frames_fd), m_ram(o.m_ram), m_frames(o.m_frames) {
  o.m_ram_fd = o.m_frames_fd = -1;
  o.m_ram = o.m_frames = nullptr;
}

void GuestMemory::close_fds() {
  if (m_ram_fd >= 0) close(m_ram_fd);
  if (m_frames_fd >= 0) close(m_frames_fd);
  m_ram_fd = m_frames_fd = -1;
}

GuestMemory::~GuestMemory() {
  if (m_ram) munmap(m_ram, m_size);
  if (m_frames) munmap(m_frames, kHvFramesCount * kPageSize);
  if (m_ram_fd >= 0) close(m_ram_fd);
  if (m_frames_fd >= 0) close(m_frames_fd);
}

std::optional<std::span<uint8_t>> GuestMemory::span(uint64_t gva, uint64_t length) const {
  if (gva < hosted::kGuestBase) return std::nullopt;
  uint64_t gpa = gva - hosted::kGuestBase;
  if (gpa <= m_size && length <= m_size - gpa) return std::span<uint8_t>(m_ram + gpa, length);
  const uint64_t frames_size = kHvFramesCount * kPageSize;
  if (gpa >= hosted::kHvFramesGpa) {
    uint64_t off = gpa - hosted::kHvFramesGpa;
    if (off <= frames_size && length <= frames_size - off) return std::span<uint8_t>(m_frames + off, length);
  }
  return std::nullopt;
}

}  // namespace atl::hv
