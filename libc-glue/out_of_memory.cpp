// The C++ runtime's allocation functions. libstdc++'s would throw bad_alloc,
// which in an image built with -fno-exceptions can only end in std::terminate
// and a bare abort; these say what ran out first: the heap's figures and the
// request, on the console, then a crash whose reason is out of memory (the
// hypervisor prints it with the backtrace). The nothrow forms keep their
// contract and return nullptr: their caller has a plan for that.
//
// malloc() itself is left alone: it returns NULL with ENOMEM, which C code
// checks for, and lwIP's pools and httpd's budget rely on it.
//
// The allocation functions are weak: an app may replace them, as the standard
// allows (kvstore counts its memory in its own), and report a failure through
// atoll_out_of_memory(). An app that replaces operator delete must replace the
// nothrow operator new too: the standard's default forwards it to the plain
// one through an exception, which these images do not have, so ours here
// allocates on its own, and a block from it would reach the app's delete.
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <new>

#include "atoll/kernel.h"
#include "atoll/memory.h"

namespace {

// "15.4 MiB": integer arithmetic only, because printf's %f may allocate.
void format_size(char* out, size_t room, size_t bytes) {
  static const char* const kUnits[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  unsigned u = 0;
  while (u + 1 < sizeof kUnits / sizeof kUnits[0] && bytes >> (10 * (u + 1)) != 0) ++u;
  if (u == 0) {
    snprintf(out, room, "%zu bytes", bytes);
    return;
  }
  auto whole = static_cast<unsigned>(bytes >> (10 * u));  // below 1024
  auto tenths = static_cast<unsigned>(((bytes & ((size_t{1} << (10 * u)) - 1)) >> (10 * u - 4)) * 10 >> 4);
  snprintf(out, room, "%u.%u %s", whole, tenths, kUnits[u]);
}

}  // namespace

extern "C" [[noreturn]] void atoll_out_of_memory(size_t request) {
  struct atoll_heap_info heap;
  atoll_heap_info(&heap);
  char used[32], limit[32], asked[32], line[200];
  format_size(used, sizeof used, heap.in_use);
  format_size(limit, sizeof limit, heap.limit);
  format_size(asked, sizeof asked, request);
  int n = snprintf(line, sizeof line, "atoll: out of memory: heap %zu/%zu bytes (%s of %s), request %zu bytes (%s)\n",
                   heap.in_use, heap.limit, used, limit, request, asked);
  if (n > static_cast<int>(sizeof line) - 1) n = sizeof line - 1;
  // Straight to the hypervisor: the console ring may not drain before the crash.
  atl::kernel::console_write_early(line, static_cast<size_t>(n));
  atl::kernel::shutdown_crash(atl::kernel::CrashReason::kOutOfMemory);
}

namespace {

// The standard's loop: ask the new-handler to free something, then try again.
void* try_allocate(size_t size, size_t align) {
  if (size == 0) size = 1;
  for (;;) {
    void* p = align <= alignof(max_align_t) ? malloc(size) : memalign(align, size);
    if (p) return p;
    std::new_handler handler = std::get_new_handler();
    if (!handler) return nullptr;
    handler();
  }
}

void* allocate(size_t size, size_t align) {
  void* p = try_allocate(size, align);
  if (!p) atoll_out_of_memory(size);
  return p;
}

}  // namespace

[[gnu::weak]] void* operator new(size_t size) { return allocate(size, 0); }
[[gnu::weak]] void* operator new[](size_t size) { return allocate(size, 0); }
[[gnu::weak]] void* operator new(size_t size, std::align_val_t align) { return allocate(size, static_cast<size_t>(align)); }
[[gnu::weak]] void* operator new[](size_t size, std::align_val_t align) { return allocate(size, static_cast<size_t>(align)); }

[[gnu::weak]] void* operator new(size_t size, const std::nothrow_t&) noexcept { return try_allocate(size, 0); }
[[gnu::weak]] void* operator new[](size_t size, const std::nothrow_t&) noexcept { return try_allocate(size, 0); }
[[gnu::weak]] void* operator new(size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return try_allocate(size, static_cast<size_t>(align));
}
[[gnu::weak]] void* operator new[](size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return try_allocate(size, static_cast<size_t>(align));
}

// Every form frees with free(): newlib's memalign() blocks are ordinary chunks.
// The aligned forms must be ours too, since libstdc++'s pair with its own
// aligned new, which may keep the block's start in a header of its own.
[[gnu::weak]] void operator delete(void* p) noexcept { free(p); }
[[gnu::weak]] void operator delete[](void* p) noexcept { free(p); }
[[gnu::weak]] void operator delete(void* p, size_t) noexcept { free(p); }
[[gnu::weak]] void operator delete[](void* p, size_t) noexcept { free(p); }
[[gnu::weak]] void operator delete(void* p, const std::nothrow_t&) noexcept { free(p); }
[[gnu::weak]] void operator delete[](void* p, const std::nothrow_t&) noexcept { free(p); }
[[gnu::weak]] void operator delete(void* p, std::align_val_t) noexcept { free(p); }
[[gnu::weak]] void operator delete[](void* p, std::align_val_t) noexcept { free(p); }
[[gnu::weak]] void operator delete(void* p, size_t, std::align_val_t) noexcept { free(p); }
[[gnu::weak]] void operator delete[](void* p, size_t, std::align_val_t) noexcept { free(p); }
[[gnu::weak]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { free(p); }
[[gnu::weak]] void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { free(p); }
