// The allocation count behind mem::used(): the global operator new and delete
// of the whole program (the C++ library's own containers included) go through
// here. Without exceptions a failed allocation cannot be reported to the
// caller, so it ends the program with a message that says what happened; the
// maxmemory budget exists so that it does not.
#include "memory.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>

#include <new>

#include "numbers.h"

namespace kv::mem {

namespace {

uint64_t g_used = 0;
uint64_t g_peak = 0;

void* try_allocate(size_t size) {
  void* p = malloc(size ? size : 1);
  if (!p) return nullptr;
  g_used += malloc_usable_size(p);
  if (g_used > g_peak) g_peak = g_used;
  return p;
}

void* allocate(size_t size) {
  void* p = try_allocate(size);
  if (!p) out_of_memory(size, g_used);
  return p;
}

void release(void* p) {
  if (!p) return;
  g_used -= malloc_usable_size(p);
  free(p);
}

}  // namespace

uint64_t used() { return g_used; }
uint64_t peak() { return g_peak; }

uint64_t default_maxmemory(const HeapFigures& heap) {
  if (heap.limit == 0) return 0;
  // What the heap holds now, free chunks inside it aside.
  uint64_t taken = heap.mapped > heap.free ? heap.mapped - heap.free : heap.mapped;
  return heap.limit > taken ? (heap.limit - taken) / 5 * 2 : 0;
}

uint64_t client_buffer_limit(uint64_t maxmemory) {
  constexpr uint64_t kMin = 256 * 1024, kMax = uint64_t{1} << 30;
  if (maxmemory == 0) return kMax;
  uint64_t quarter = maxmemory / 4;
  return quarter < kMin ? kMin : quarter > kMax ? kMax : quarter;
}

std::optional<uint64_t> parse_memory(std::string_view s) {
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  auto v = parse_int(s.substr(0, digits));
  if (!v || *v < 0) return std::nullopt;
  std::string_view unit = s.substr(digits);
  uint64_t mul = 1;
  if (unit.empty() || equals_lower(unit, "b")) mul = 1;
  else if (equals_lower(unit, "k")) mul = 1000;
  else if (equals_lower(unit, "kb")) mul = 1024;
  else if (equals_lower(unit, "m")) mul = 1000 * 1000;
  else if (equals_lower(unit, "mb")) mul = 1024 * 1024;
  else if (equals_lower(unit, "g")) mul = 1000 * 1000 * 1000;
  else if (equals_lower(unit, "gb")) mul = 1024 * 1024 * 1024;
  else return std::nullopt;
  uint64_t n = static_cast<uint64_t>(*v);
  if (n > UINT64_MAX / mul) return std::nullopt;
  return n * mul;
}

}  // namespace kv::mem

// The replaceable global allocation functions (C++20 [new.delete]). The
// nothrow forms are replaced too: what they return is freed by the plain
// operator delete below, which counts it (lwIP's glue allocates with them);
// the libOS's own nothrow forms would hand out blocks never counted in. The
// aligned forms are not used by this program.
void* operator new(size_t size) { return kv::mem::allocate(size); }
void* operator new[](size_t size) { return kv::mem::allocate(size); }
void* operator new(size_t size, const std::nothrow_t&) noexcept { return kv::mem::try_allocate(size); }
void* operator new[](size_t size, const std::nothrow_t&) noexcept { return kv::mem::try_allocate(size); }
void operator delete(void* p, const std::nothrow_t&) noexcept { kv::mem::release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { kv::mem::release(p); }
void operator delete(void* p) noexcept { kv::mem::release(p); }
void operator delete[](void* p) noexcept { kv::mem::release(p); }
void operator delete(void* p, size_t) noexcept { kv::mem::release(p); }
void operator delete[](void* p, size_t) noexcept { kv::mem::release(p); }
