// The read-only archive file system: ustar archives on a disk or sealed into
// the image, read with the ordinary POSIX calls (open, read, pread, lseek,
// fstat, stat, access, opendir/readdir, ...). See docs/filesystem.md.
//
// Most apps need none of this: the first open/stat/opendir mounts the image's
// sealed archive at "/", or else the first read-only disk holding a ustar
// archive. These calls are for anything else: another disk, another mount
// point, an archive the app has in memory.
#pragma once

#include <stddef.h>

#include "atoll/result.h"

namespace atl::blk {
class BlkFront;
}

namespace atl::fs {

constexpr size_t kDefaultCacheBlocks = 256;  // 4 KiB each: 1 MiB per disk

// Reads the archive's headers now (blocking the calling thread) and makes it
// visible at `at`, an absolute directory path ("/", "/srv/site"; directories
// above it appear as needed). Errors: kInval (malformed archive, with a
// console line naming the offset; or a bad mount point), kBusy (something is
// mounted at `at`), kNoDev (the disk is not connected), kIo (a read failed),
// kNoMem (more entries than the index takes). The disk may be writable, but
// nothing is ever written, and writes to it by others are not seen.
Result<void> mount_disk(blk::BlkFront& disk, const char* at, size_t cache_blocks = kDefaultCacheBlocks);
// The same over `size` bytes at `data`, which must stay valid and unchanged.
Result<void> mount_memory(const void* data, size_t size, const char* at);
// Runs the first-use auto-mount now if it has not run (it does nothing if
// anything is mounted by then).
void auto_mount();

}  // namespace atl::fs
