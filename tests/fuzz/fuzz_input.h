// Reads a fuzz input as a little script: bytes, little-endian integers and
// byte strings, with zeroes (and short strings) past the end, so every input
// is a valid script and libFuzzer's mutations stay meaningful.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>

namespace atl::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : m_data(data), m_size(size) {}

  bool empty() const { return m_pos >= m_size; }
  size_t left() const { return m_size - m_pos; }
  uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(byte() | byte() << 8); }
  uint32_t u32() { return u16() | uint32_t{u16()} << 16; }
  uint64_t u64() { return u32() | uint64_t{u32()} << 32; }
  // Up to `len` bytes (fewer at the end of the input).
  std::span<const uint8_t> take(size_t len) {
    len = std::min(len, left());
    std::span<const uint8_t> out(m_data + m_pos, len);
    m_pos += len;
    return out;
  }
  // Everything not read yet.
  std::span<const uint8_t> rest() { return take(left()); }

 private:
  const uint8_t* m_data;
  size_t m_size;
  size_t m_pos = 0;
};

}  // namespace atl::fuzz
