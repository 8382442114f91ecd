#include "log_format.h"

#include <string.h>

#include "crc32c.h"

namespace kv::logfmt {

namespace {

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | p[i];
  return v;
}

}  // namespace

std::optional<Superblock> make_layout(uint64_t capacity) {
  if (capacity < kMinCapacity) return std::nullopt;
  Superblock sb;
  sb.region_size = (capacity - kRegionsStart) / 2 / kRegionAlign * kRegionAlign;
  sb.region_offset[0] = kRegionsStart;
  sb.region_offset[1] = kRegionsStart + sb.region_size;
  return sb;
}

// Superblock layout: 0 magic[8]  8 u32 version  12 u32 active  16 u64 seq
// 24 u32 generation  28 u32 epoch  32 u64 region_offset[0]  40 u64
// region_offset[1]  48 u64 region_size  56 u32 crc32c(bytes 0..56)
void encode_superblock(const Superblock& sb, uint8_t block[kBlock]) {
  memset(block, 0, kBlock);
  memcpy(block, kSuperblockMagic, sizeof kSuperblockMagic);
  put32(block + 8, kVersion);
  put32(block + 12, sb.active);
  put64(block + 16, sb.seq);
  put32(block + 24, sb.generation);
  put32(block + 28, sb.epoch);
  put64(block + 32, sb.region_offset[0]);
  put64(block + 40, sb.region_offset[1]);
  put64(block + 48, sb.region_size);
  put32(block + 56, crc32c(0, block, 56));
}

std::optional<Superblock> decode_superblock(const uint8_t block[kBlock], uint64_t capacity) {
  if (memcmp(block, kSuperblockMagic, sizeof kSuperblockMagic) != 0) return std::nullopt;
  if (get32(block + 56) != crc32c(0, block, 56) || get32(block + 8) != kVersion) return std::nullopt;
  Superblock sb;
  sb.active = get32(block + 12);
  sb.seq = get64(block + 16);
  sb.generation = get32(block + 24);
  sb.epoch = get32(block + 28);
  sb.region_offset[0] = get64(block + 32);
  sb.region_offset[1] = get64(block + 40);
  sb.region_size = get64(block + 48);
  if (sb.active > 1 || sb.region_size < kMinRegionSize || sb.region_size % kBlock != 0) return std::nullopt;
  for (uint64_t off : sb.region_offset) {
    if (off < kRegionsStart || off % kBlock != 0 || off > capacity || sb.region_size > capacity - off)
      return std::nullopt;
  }
  uint64_t lo = sb.region_offset[0] < sb.region_offset[1] ? sb.region_offset[0] : sb.region_offset[1];
  uint64_t hi = sb.region_offset[0] ^ sb.region_offset[1] ^ lo;
  if (hi - lo < sb.region_size) return std::nullopt;  // the regions overlap
  return sb;
}

size_t begin_record(std::string& out) {
  size_t start = out.size();
  out.append(kHeaderSize, '\0');
  return start;
}

void end_record(std::string& out, size_t start, uint32_t generation, uint32_t epoch) {
  auto* h = reinterpret_cast<uint8_t*>(out.data() + start);
  size_t len = out.size() - start - kHeaderSize;
  put32(h, kRecordMagic);
  put32(h + 4, static_cast<uint32_t>(len));
  put32(h + 8, generation);
  put32(h + 12, epoch);
  put32(h + 16, crc32c(0, h + kHeaderSize, len));
  put32(h + 20, crc32c(0, h, 20));
}

std::optional<RecordHeader> decode_header(const uint8_t* p) {
  if (get32(p) != kRecordMagic || get32(p + 20) != crc32c(0, p, 20)) return std::nullopt;
  RecordHeader h;
  h.payload_len = get32(p + 4);
  h.generation = get32(p + 8);
  h.epoch = get32(p + 12);
  h.payload_crc = get32(p + 16);
  return h;
}

bool payload_ok(const RecordHeader& h, const void* payload) {
  return crc32c(0, payload, h.payload_len) == h.payload_crc;
}

bool all_zero(const uint8_t* p, size_t len) {
  for (size_t i = 0; i < len; ++i)
    if (p[i] != 0) return false;
  return true;
}

}  // namespace kv::logfmt
