// The log's on-disk format: CRC32C, superblock and record encoding, and that
// any corrupted byte is caught.
#include <gtest/gtest.h>

#include <string>

#include "crc32c.h"
#include "log_format.h"
#include "resp.h"

namespace kv {
namespace {

using namespace logfmt;

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(crc32c(0, "123456789", 9), 0xE3069283u);  // the standard check value
  EXPECT_EQ(crc32c(0, "", 0), 0u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(0, zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4
  std::string text = "The quick brown fox jumps over the lazy dog, a bit more than 8 bytes at a time";
  for (size_t split = 0; split <= text.size(); ++split)
    EXPECT_EQ(crc32c(crc32c(0, text.data(), split), text.data() + split, text.size() - split),
              crc32c(0, text.data(), text.size()));
}

TEST(Layout, RegionsSplitTheDevice) {
  EXPECT_FALSE(make_layout(kMinCapacity - 1).has_value());
  auto sb = make_layout(64u << 20);
  ASSERT_TRUE(sb.has_value());
  EXPECT_EQ(sb->region_offset[0], 8192u);
  EXPECT_EQ(sb->region_offset[1], 8192u + sb->region_size);
  EXPECT_EQ(sb->region_size % 4096, 0u);
  EXPECT_LE(sb->region_offset[1] + sb->region_size, 64u << 20);
  EXPECT_GT(sb->region_size, (32u << 20) - 8192);
}

TEST(Superblock, RoundTripAndEveryCorruptByteIsCaught) {
  auto sb = make_layout(1u << 20);
  ASSERT_TRUE(sb);
  sb->active = 1;
  sb->seq = 0x0102030405060708ULL;
  sb->generation = 0xCAFEF00D;
  sb->epoch = 77;
  uint8_t block[kBlock];
  encode_superblock(*sb, block);
  EXPECT_EQ(sb->slot(), 0u);
  auto back = decode_superblock(block, 1u << 20);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->active, 1u);
  EXPECT_EQ(back->seq, sb->seq);
  EXPECT_EQ(back->generation, sb->generation);
  EXPECT_EQ(back->epoch, 77u);
  EXPECT_EQ(back->region_size, sb->region_size);
  for (size_t i = 0; i < kSuperblockBytes; ++i) {
    uint8_t bad[kBlock];
    memcpy(bad, block, kBlock);
    bad[i] ^= 0x10;
    EXPECT_FALSE(decode_superblock(bad, 1u << 20)) << "byte " << i;
  }
  EXPECT_FALSE(decode_superblock(block, 512u << 10)) << "regions past the device's end";
}

TEST(Record, EncodeDecode) {
  std::string buf = "prefix";
  size_t start = begin_record(buf);
  append_command(buf, std::vector<std::string>{"SET", "k", "v"});
  end_record(buf, start, 7, 3);
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data() + start);
  auto h = decode_header(p);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->payload_len, buf.size() - start - kHeaderSize);
  EXPECT_EQ(h->generation, 7u);
  EXPECT_EQ(h->epoch, 3u);
  EXPECT_TRUE(payload_ok(*h, p + kHeaderSize));
  EXPECT_EQ(std::string(buf, start + kHeaderSize), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n");
  EXPECT_EQ(memcmp(p, "KVR1", 4), 0) << "the magic reads KVR1 in a hex dump";

  // Every corrupted byte is caught by one of the two checksums.
  for (size_t i = start; i < buf.size(); ++i) {
    std::string bad = buf;
    bad[i] ^= 0x01;
    const auto* q = reinterpret_cast<const uint8_t*>(bad.data() + start);
    auto hb = decode_header(q);
    EXPECT_TRUE(!hb || !payload_ok(*hb, q + kHeaderSize)) << "byte " << i - start;
  }
}

TEST(Record, AllZero) {
  uint8_t z[24] = {};
  EXPECT_TRUE(all_zero(z, sizeof z));
  z[23] = 1;
  EXPECT_FALSE(all_zero(z, sizeof z));
  EXPECT_FALSE(decode_header(z));
}

}  // namespace
}  // namespace kv
