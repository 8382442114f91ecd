// blkfront against blkback in one process (guest_env.h): the real frontend's
// submit(), fill_slot() and response reaping and the real backend's ring
// parsing, grant mapping (persistent and per request), indirect segments and
// io_uring file I/O, on rings whose indices start 32 short of 2^32 and cross
// it. The disk is a file this test reads and writes beside the backend: what
// the guest writes must be in the file byte for byte, and what the file holds
// must be what the guest reads, with blkback's counters agreeing.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "blkback.h"
#include "blkfront.h"
#include "dataplane_test.h"

namespace atl::dataplane {
namespace {

// meson.build builds the frontends with their rings starting short of the
// wrap of their 32-bit indices; without it these tests would never cross it.
static_assert(blk::BlkifFrontRing::Shared::kStart >= 0xFFFFFF00u);

using Bytes = std::vector<uint8_t>;
constexpr size_t kSector = 512;
constexpr uint64_t kDiskSectors = 16384;  // 8 MiB

Bytes pattern(size_t bytes, uint32_t salt) {
  Bytes b(bytes);
  for (size_t i = 0; i < bytes; ++i) b[i] = static_cast<uint8_t>((i * 131 + salt * 7 + (i >> 9)) ^ (salt >> 3));
  return b;
}

class BlkPath : public DataplaneTest {
 protected:
  void SetUp() override {
    DataplaneTest::SetUp();
    if (!m_env) return;  // skipped or failed
    const char* tmp = getenv("TMPDIR");
    m_path = std::string(tmp && *tmp ? tmp : "/tmp") + "/atoll-dataplane-disk-XXXXXX";
    m_fd = mkstemp(m_path.data());
    ASSERT_GE(m_fd, 0);
    ASSERT_EQ(ftruncate(m_fd, kDiskSectors * kSector), 0);
  }

  void connect(bool read_only = false, unsigned queues = 4) {
    static uint32_t next = 0;
    m_devid = 51712 + 16 * next++;
    hv::DiskConfig disk;
    disk.path = m_path;
    disk.read_only = read_only;
    disk.queues = queues;
    std::string error;
    m_back = hv::BlkBack::try_create(m_env->domain(), m_env->store(), m_env->loop(), disk, m_devid, error);
    ASSERT_TRUE(m_back) << error;
    ASSERT_NO_FATAL_FAILURE(connect_front("device/vbd/" + std::to_string(m_devid), *m_back, m_front));
    ASSERT_EQ(m_front->sectors(), kDiskSectors);
  }

  void TearDown() override {
    if (m_front) close_front(*m_front, *m_back);
    m_front.reset();
    m_back.reset();
    if (m_fd >= 0) {
      close(m_fd);
      unlink(m_path.c_str());
    }
  }

  Bytes file_bytes(uint64_t sector, size_t sectors) {
    Bytes b(sectors * kSector);
    EXPECT_EQ(pread(m_fd, b.data(), b.size(), static_cast<off_t>(sector * kSector)), static_cast<ssize_t>(b.size()));
    return b;
  }

  std::string m_path;
  int m_fd = -1;
  uint32_t m_devid = 0;
  std::unique_ptr<hv::BlkBack> m_back;
  std::unique_ptr<blk::BlkFront> m_front;
};

TEST_F(BlkPath, WritesAndReadsOfEverySizeAcrossTheIndexWrap) {
  ASSERT_NO_FATAL_FAILURE(connect());
  // 1 to 160 sectors: one segment, several, more than a plain request's 11
  // pages (INDIRECT), and more than one indirect request's 64 pages.
  uint64_t bytes = 0;
  unsigned n = 0;
  for (size_t sectors : {1u, 7u, 8u, 9u, 88u, 89u, 128u, 160u, 3u, 512u}) {
    for (unsigned k = 0; k < 8; ++k, ++n) {
      uint64_t sector = (n * 613u) % (kDiskSectors - sectors);
      Bytes data = pattern(sectors * kSector, n);
      ASSERT_TRUE(m_front->write(sector, data.data(), sectors).ok()) << sectors;
      ASSERT_EQ(file_bytes(sector, sectors), data) << "write of " << sectors << " sectors at " << sector;
      Bytes back(data.size());
      ASSERT_TRUE(m_front->read(sector, back.data(), sectors).ok());
      ASSERT_EQ(back, data) << "read of " << sectors << " sectors at " << sector;
      bytes += data.size();
    }
  }
  EXPECT_EQ(m_back->counters().writes, m_front->stats().slots / 2);
  EXPECT_EQ(m_back->counters().write_bytes, bytes);
  EXPECT_EQ(m_back->counters().read_bytes, bytes);
  EXPECT_EQ(m_back->counters().errors, 0u);
  EXPECT_GT(m_front->stats().indirect, 0u);
  // Over 2 x 80 requests on 32-slot rings: every queue's indices wrapped.
  EXPECT_GE(m_front->stats().slots, 160u);
}

TEST_F(BlkPath, AsynchronousRequestsFillTheRingsAndQueueBehindThem) {
  ASSERT_NO_FATAL_FAILURE(connect(false, 1));
  // 300 requests at once on one 32-slot ring: 64 in flight at most, the
  // rest waiting in blkfront's FIFO (adjacent ones merged into one slot).
  constexpr unsigned kCount = 300;
  std::vector<Bytes> data;
  std::vector<blk::Request> reqs(kCount);
  for (unsigned i = 0; i < kCount; ++i) {
    size_t sectors = 1 + i % 16;
    data.push_back(pattern(sectors * kSector, 1000 + i));
    reqs[i].op = blk::Op::kWrite;
    reqs[i].sector = i * 20u;  // gaps between them, and some runs merged below
    if (i % 5 == 1) reqs[i].sector = reqs[i - 1].sector + (1 + (i - 1) % 16);
    reqs[i].buf = data.back().data();
    reqs[i].sectors = sectors;
    ASSERT_TRUE(m_front->submit(reqs[i]).ok()) << i;
  }
  for (auto& r : reqs) ASSERT_TRUE(m_front->wait(r).ok());
  for (unsigned i = 0; i < kCount; ++i) {
    if (i % 5 == 0 && i + 1 < kCount) continue;  // its tail may be the next one's head: checked in order below
    ASSERT_EQ(file_bytes(reqs[i].sector, reqs[i].sectors), data[i]) << "request " << i;
  }
  EXPECT_EQ(m_back->counters().errors, 0u);
  EXPECT_GT(m_front->stats().merged, 0u);
  EXPECT_EQ(m_back->counters().writes + m_front->stats().merged, uint64_t{kCount});
}

TEST_F(BlkPath, FlushWriteFlushAndDiscardReachTheFile) {
  ASSERT_NO_FATAL_FAILURE(connect());
  ASSERT_TRUE(m_front->has_flush());
  ASSERT_TRUE(m_front->has_discard());
  Bytes a = pattern(64 * kSector, 1);
  ASSERT_TRUE(m_front->write(100, a.data(), 64).ok());
  ASSERT_TRUE(m_front->flush().ok());
  EXPECT_GE(m_back->counters().flushes, 1u);
  Bytes b = pattern(9 * kSector, 2);
  ASSERT_TRUE(m_front->write_flush(2000, b.data(), 9).ok());
  EXPECT_EQ(file_bytes(2000, 9), b);
  EXPECT_GE(m_back->counters().flushes, 2u);
  // Discarded sectors read back as zeroes, in the guest and in the file.
  ASSERT_TRUE(m_front->discard(100, 32).ok());
  EXPECT_EQ(m_back->counters().discards, 1u);
  Bytes back(64 * kSector);
  ASSERT_TRUE(m_front->read(100, back.data(), 64).ok());
  EXPECT_EQ(Bytes(back.begin(), back.begin() + 32 * kSector), Bytes(32 * kSector, 0));
  EXPECT_EQ(Bytes(back.begin() + 32 * kSector, back.end()), Bytes(a.begin() + 32 * kSector, a.end()));
  EXPECT_EQ(file_bytes(100, 64), back);
}

TEST_F(BlkPath, ZeroCopyBuffersGoOnTheRingThemselves) {
  ASSERT_NO_FATAL_FAILURE(connect());
  constexpr size_t kBytes = 96 * 1024;
  auto* buf = static_cast<uint8_t*>(m_front->alloc_buffer(kBytes));
  ASSERT_NE(buf, nullptr);
  Bytes data = pattern(kBytes, 77);
  memcpy(buf, data.data(), kBytes);
  ASSERT_TRUE(m_front->write(4096, buf, kBytes / kSector).ok());
  EXPECT_EQ(file_bytes(4096, kBytes / kSector), data);
  memset(buf, 0, kBytes);
  ASSERT_TRUE(m_front->read(4096, buf, kBytes / kSector).ok());
  EXPECT_EQ(Bytes(buf, buf + kBytes), data);
  EXPECT_GE(m_front->stats().zero_copy, 2u);
  m_front->free_buffer(buf);
}

TEST_F(BlkPath, OutOfRangeAndReadOnlyRequestsFailCleanly) {
  ASSERT_NO_FATAL_FAILURE(connect(true));
  Bytes data = pattern(kSector, 5);
  auto past = m_front->read(kDiskSectors, data.data(), 1);
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error(), Errno::kRange);
  auto ro = m_front->write(0, data.data(), 1);
  ASSERT_FALSE(ro.ok());
  EXPECT_EQ(file_bytes(0, 1), Bytes(kSector, 0));
  // The disk still serves reads after the refusal.
  ASSERT_TRUE(m_front->read(0, data.data(), 1).ok());
  EXPECT_EQ(data, Bytes(kSector, 0));
}

// Blkback kept a backend port and its callback from every connect, for the
// domain's life (the leak NetPath.ReconnectsGiveTheirBackendPortsBack
// describes); each disconnect gives them back now.
TEST_F(BlkPath, ReconnectsGiveTheirBackendPortsBack) {
  ASSERT_NO_FATAL_FAILURE(connect());
  auto [first, last] = reconnect_cycles(*m_front, *m_back, 20);
  EXPECT_EQ(last, first) << "reconnects reuse the ports they gave back";
  ASSERT_TRUE(m_back->connected());
  Bytes data = pattern(8 * kSector, 9);
  ASSERT_TRUE(m_front->write(64, data.data(), 8).ok()) << "the ports bound last carry the requests";
  EXPECT_EQ(file_bytes(64, 8), data);
}

}  // namespace
}  // namespace atl::dataplane
