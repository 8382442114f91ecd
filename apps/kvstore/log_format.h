// The append-only log's on-disk format (README.md, "Persistence format"). All
// integers are little-endian.
//
//   [0, 512)       superblock slot 0        each slot has its own 4 KiB, so
//   [4096, 4608)   superblock slot 1        one torn write hits one slot
//   [8192, +R)     region 0                 the active region holds the log;
//   [8192+R, +R)   region 1                 compaction writes the other one
//
// A superblock names the active region and its generation and carries a
// CRC32C; writes alternate slots (slot = seq % 2) and the valid slot with the
// higher seq wins, so a torn superblock write leaves the previous one intact.
//
// The log is a sequence of records, each a 24-byte header and a payload (one
// command in RESP). A record counts only if its header and payload CRCs hold,
// its generation is the active one (stale records of an older use of the
// region do not) and its epoch (the boot that wrote it) does not decrease
// along the log, so stale records of a tail cut off at an earlier boot never
// rejoin it. The first 24 bytes after the log's end are kept zero, which
// tells a clean end from a torn one.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <optional>
#include <string>
#include <string_view>

namespace kv::logfmt {

inline constexpr size_t kBlock = 512;
inline constexpr uint64_t kSlotOffset[2] = {0, 4096};
inline constexpr uint64_t kRegionsStart = 8192;
inline constexpr uint64_t kRegionAlign = 4096;
inline constexpr uint64_t kMinRegionSize = 64 * 1024;
inline constexpr uint64_t kMinCapacity = kRegionsStart + 2 * kMinRegionSize;
inline constexpr uint32_t kVersion = 1;
inline constexpr char kSuperblockMagic[8] = {'A', 'T', 'K', 'V', 'L', 'O', 'G', '1'};
inline constexpr size_t kSuperblockBytes = 60;
inline constexpr uint32_t kRecordMagic = 0x3152564B;  // "KVR1" in file order
inline constexpr size_t kHeaderSize = 24;

struct Superblock {
  uint32_t active = 0;  // region 0 or 1
  uint64_t seq = 0;     // +1 on every superblock write
  uint32_t generation = 0;
  uint32_t epoch = 0;   // +1 at every open of the log
  uint64_t region_offset[2] = {0, 0};
  uint64_t region_size = 0;

  uint64_t active_offset() const { return region_offset[active]; }
  unsigned slot() const { return static_cast<unsigned>(seq % 2); }
};

// The two regions for a device of `capacity` bytes; nullopt when it is
// smaller than kMinCapacity.
std::optional<Superblock> make_layout(uint64_t capacity);
// One 512-byte block: the fields, the CRC, zero padding.
void encode_superblock(const Superblock& sb, uint8_t block[kBlock]);
// nullopt unless magic, version and CRC hold and the regions fit `capacity`.
std::optional<Superblock> decode_superblock(const uint8_t block[kBlock], uint64_t capacity);

// Record header layout:
//   0 u32 magic  4 u32 payload_len  8 u32 generation  12 u32 epoch
//  16 u32 crc32c(payload)  20 u32 crc32c(bytes 0..20)
struct RecordHeader {
  uint32_t payload_len = 0;
  uint32_t generation = 0;
  uint32_t epoch = 0;
  uint32_t payload_crc = 0;
};

// Building a record in place: begin_record() reserves the header,
// the caller appends the payload, end_record() fills the header in.
size_t begin_record(std::string& out);
void end_record(std::string& out, size_t start, uint32_t generation, uint32_t epoch);
// Magic and header CRC only; the payload is checked with payload_ok().
std::optional<RecordHeader> decode_header(const uint8_t* p);
bool payload_ok(const RecordHeader& h, const void* payload);

bool all_zero(const uint8_t* p, size_t len);

}  // namespace kv::logfmt
