// CRC32C (Castagnoli, the polynomial iSCSI, ext4 and Btrfs use), in software
// so the native build and the guest compute the same thing without CPU
// feature checks. Every log record and superblock carries one.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace kv {

// Continues a CRC: crc32c(crc32c(0, a), b) == crc32c(0, a + b).
uint32_t crc32c(uint32_t crc, const void* data, size_t len);

}  // namespace kv
