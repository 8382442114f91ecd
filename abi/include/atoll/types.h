// Typed handles for the Xen ABI's integers: a port is not a grant ref is not a
// domain id. Explicit construction, no operator bool, only operations that make sense.
#pragma once

#include <stdint.h>

namespace atl {

template <typename Tag, typename Rep>
class Handle {
 public:
  using rep_type = Rep;
  constexpr explicit Handle(Rep value) : m_value(value) {}
  constexpr Rep value() const { return m_value; }
  friend constexpr bool operator==(Handle a, Handle b) { return a.m_value == b.m_value; }
  friend constexpr bool operator!=(Handle a, Handle b) { return a.m_value != b.m_value; }
  friend constexpr bool operator<(Handle a, Handle b) { return a.m_value < b.m_value; }

 private:
  Rep m_value;
};

struct EvtchnPortTag;
struct DomIdTag;
struct GfnTag;
struct GrantRefTag;
struct VirqTag;

using EvtchnPort = Handle<EvtchnPortTag, uint32_t>;
using DomId = Handle<DomIdTag, uint16_t>;
using Gfn = Handle<GfnTag, uint64_t>;
using GrantRef = Handle<GrantRefTag, uint32_t>;
using Virq = Handle<VirqTag, uint32_t>;

// Ring indices are free-running 32-bit counters: they wrap, and only their
// difference is meaningful.
class RingIdx {
 public:
  constexpr explicit RingIdx(uint32_t value) : m_value(value) {}
  constexpr uint32_t value() const { return m_value; }
  constexpr RingIdx operator+(uint32_t n) const { return RingIdx(m_value + n); }
  constexpr RingIdx& operator+=(uint32_t n) { m_value += n; return *this; }
  constexpr RingIdx& operator++() { ++m_value; return *this; }
  // How many steps from `from` to this index, modulo 2^32.
  constexpr uint32_t distance_from(RingIdx from) const { return m_value - from.m_value; }
  constexpr uint32_t slot(uint32_t ring_size) const { return m_value & (ring_size - 1); }
  friend constexpr bool operator==(RingIdx a, RingIdx b) { return a.m_value == b.m_value; }
  friend constexpr bool operator!=(RingIdx a, RingIdx b) { return a.m_value != b.m_value; }

 private:
  uint32_t m_value;
};

inline constexpr DomId kDomidSelf{0x7FF0};  // DOMID_SELF

}  // namespace atl
