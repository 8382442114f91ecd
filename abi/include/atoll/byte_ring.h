// The byte-stream rings of the console (xen/io/console.h, struct xencons_interface)
// and xenstore (xen/io/xs_wire.h, struct xenstore_domain_interface): a producer
// and a consumer index per direction, free-running 32-bit counters, over a
// power-of-two byte array. One side writes `prod` and the data, the other `cons`.
//
// Both the guest frontends and the hypervisor's backends use this; a backend must
// treat the indices as hostile (RingView::sane() rejects impossible states).
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

namespace atl {

// A view of one direction of a byte ring. `Data` is the ring array, `Size` its
// length (a power of two); `cons`/`prod` point at the shared indices.
template <size_t Size>
class ByteRingView {
  static_assert((Size & (Size - 1)) == 0, "byte rings are a power of two long");

 public:
  ByteRingView(volatile char* data, volatile uint32_t* cons, volatile uint32_t* prod)
      : m_data(data), m_cons(cons), m_prod(prod) {}

  // ORDERING: indices are read with acquire so the data they cover is visible,
  // and published with release after the data is written or consumed.
  uint32_t load_cons() const { return __atomic_load_n(m_cons, __ATOMIC_ACQUIRE); }
  uint32_t load_prod() const { return __atomic_load_n(m_prod, __ATOMIC_ACQUIRE); }

  // A peer can write any index; prod - cons beyond the ring size is impossible.
  bool sane() const { return load_prod() - load_cons() <= Size; }
  uint32_t readable() const {
    uint32_t n = load_prod() - load_cons();
    return n > Size ? 0 : n;
  }
  uint32_t writable() const {
    uint32_t n = load_prod() - load_cons();
    return n > Size ? 0 : static_cast<uint32_t>(Size - n);
  }

  // Copies up to `len` bytes out of the ring and advances cons. Returns the count.
  size_t read(void* out, size_t len) {
    uint32_t cons = load_cons();
    uint32_t avail = readable();
    size_t n = len < avail ? len : avail;
    auto* dst = static_cast<char*>(out);
    for (size_t i = 0; i < n; ++i) dst[i] = m_data[(cons + i) & (Size - 1)];
    __atomic_store_n(m_cons, cons + static_cast<uint32_t>(n), __ATOMIC_RELEASE);
    return n;
  }

  // Copies up to `len` bytes into the ring and advances prod. Returns the count.
  size_t write(const void* in, size_t len) {
    uint32_t prod = load_prod();
    uint32_t space = writable();
    size_t n = len < space ? len : space;
    auto* src = static_cast<const char*>(in);
    for (size_t i = 0; i < n; ++i) m_data[(prod + i) & (Size - 1)] = src[i];
    __atomic_store_n(m_prod, prod + static_cast<uint32_t>(n), __ATOMIC_RELEASE);
    return n;
  }

 private:
  volatile char* m_data;
  volatile uint32_t* m_cons;
  volatile uint32_t* m_prod;
};

}  // namespace atl
