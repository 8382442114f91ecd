// Where an archive's bytes come from: a disk through a block cache, or memory
// (an archive sealed into the image). The archive code reads only through this,
// so it runs natively in unit tests over a vector.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "atoll/result.h"

namespace atl::fs {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Total bytes; reads must stay inside.
  virtual uint64_t size() const = 0;
  // Exactly `len` bytes at `offset`. kRange when the range is not inside size(),
  // kIo (or the device's error) when the medium fails.
  virtual Result<void> read(uint64_t offset, void* buf, size_t len) = 0;
};

// True when [offset, offset + len) lies inside [0, size), without overflow.
inline bool in_bounds(uint64_t offset, uint64_t len, uint64_t size) {
  return offset <= size && len <= size - offset;
}

}  // namespace atl::fs
