// A domain's memory as the hypervisor sees it: the guest's RAM memfd and the
// hypervisor-owned frames, both mapped here once. Guest addresses are integers;
// `span()` is the one checked way to turn (guest address, length) into host memory.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>

#include "atoll/hosted_abi.h"

namespace atl::hv {

class GuestMemory {
 public:
  // Creates the memfds (lazily populated) and maps them. `error` says why on failure.
  static std::optional<GuestMemory> try_create(uint64_t memory_size, std::string& error);
  GuestMemory(GuestMemory&& other) noexcept;
  GuestMemory& operator=(GuestMemory&&) = delete;
  GuestMemory(const GuestMemory&) = delete;
  ~GuestMemory();

  uint64_t size() const { return m_size; }
  int ram_fd() const { return m_ram_fd; }
  int frames_fd() const { return m_frames_fd; }
  // Once the guest process has its own copies: the mappings here keep the
  // memory; ram_fd() and frames_fd() are -1 afterwards.
  void close_fds();

  // Host view of [gva, gva + length) if it lies wholly inside guest RAM or the
  // hypervisor frames; nullopt otherwise. Overflow-safe for any inputs.
  std::optional<std::span<uint8_t>> span(uint64_t gva, uint64_t length) const;

  // Copy-in and copy-out of one object; false when the range is not guest memory.
  // Reading copies, so a guest changing the object afterwards cannot race a check.
  template <typename T>
  bool read(uint64_t gva, T& out) const {
    auto s = span(gva, sizeof(T));
    if (!s) return false;
    std::memcpy(&out, s->data(), sizeof(T));
    return true;
  }
  template <typename T>
  bool write(uint64_t gva, const T& in) const {
    auto s = span(gva, sizeof(T));
    if (!s) return false;
    std::memcpy(s->data(), &in, sizeof(T));
    return true;
  }

  // Direct pointers to hypervisor frames (never guest-controlled addresses).
  uint8_t* frame(unsigned index) const { return m_frames + index * hosted::kPageSize; }
  uint8_t* ram_at(uint64_t gpa) const { return m_ram + gpa; }

 private:
  GuestMemory() = default;
  uint64_t m_size = 0;
  int m_ram_fd = -1;
  int m_frames_fd = -1;
  uint8_t* m_ram = nullptr;
  uint8_t* m_frames = nullptr;
};

}  // namespace atl::hv
