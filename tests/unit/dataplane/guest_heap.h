// Forced into every frontend source of the dataplane tests (meson.build):
// the pages netfront and blkfront share with their backends come from
// aligned_alloc() and go back with free(), which in the guest are newlib's
// heap, inside guest RAM. Declared in the drivers' own namespaces, these
// are what their unqualified calls find first, so the same sources allocate
// from guest RAM here too (GuestEnv::alloc_pages); every other allocation in
// the process stays on the host's heap.
#pragma once

#include <stddef.h>

namespace atl::net {
void* aligned_alloc(size_t align, size_t bytes);
void free(void* va);
}  // namespace atl::net

namespace atl::blk {
void* aligned_alloc(size_t align, size_t bytes);
void free(void* va);
}  // namespace atl::blk
