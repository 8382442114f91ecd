// A FIFO of bytes in one growable buffer, for the TCP port forwards
// (tcp_splice.h): filled at the tail by recv() or a guest's segment, taken
// from the head as the other side accepts them. It grows on demand (an idle
// connection holds nothing) and gives its memory back once emptied after a
// burst.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>

namespace atl::hv {

class ByteQueue {
 public:
  size_t size() const { return m_tail - m_head; }
  bool empty() const { return m_tail == m_head; }
  std::span<const uint8_t> bytes() const { return {m_buf.get() + m_head, size()}; }
  // The memory the queue holds, whatever the bytes in it.
  size_t capacity() const { return m_cap; }
  // Bytes that fit at the tail without growing the buffer.
  size_t spare() const { return m_cap - size(); }

  // Room for `want` more bytes at the tail, to be filled and then commit()ed.
  std::span<uint8_t> prepare(size_t want) {
    if (m_cap - m_tail < want && m_head > 0) {
      memmove(m_buf.get(), m_buf.get() + m_head, size());
      m_tail -= m_head;
      m_head = 0;
    }
    if (m_cap - m_tail < want) {
      // Not zeroed: every byte handed out is written before commit().
      size_t cap = std::max(m_tail + want, m_cap * 2);
      auto grown = std::make_unique_for_overwrite<uint8_t[]>(cap);
      if (m_tail > 0) memcpy(grown.get(), m_buf.get(), m_tail);
      m_buf = std::move(grown);
      m_cap = cap;
    }
    return {m_buf.get() + m_tail, want};
  }
  void commit(size_t n) { m_tail += n; }
  void append(std::span<const uint8_t> data) {
    std::span<uint8_t> room = prepare(data.size());
    if (!data.empty()) memcpy(room.data(), data.data(), data.size());
    commit(data.size());
  }
  void consume(size_t n) {
    m_head += std::min(n, size());
    if (m_head != m_tail) return;
    m_head = m_tail = 0;
    if (m_cap > kKeep) {
      m_buf.reset();
      m_cap = 0;
    }
  }

 private:
  // What an emptied queue keeps: enough for requests and small answers.
  static constexpr size_t kKeep = 16 << 10;
  std::unique_ptr<uint8_t[]> m_buf;
  size_t m_cap = 0, m_head = 0, m_tail = 0;
};

}  // namespace atl::hv
