// WriteBehindDevice over a disk whose operations complete when the test says:
// appends made while a write is in flight go out as one write, a flush waits
// for everything before it (and carries a small extent in one round trip),
// the everysec flush does not wait, the extent is bounded, errors stick, and
// the log on top keeps appendfsync=always's promise and its crash safety.
#include <gtest/gtest.h>

#include <string.h>

#include <string>
#include <vector>

#include "mem_log_device.h"
#include "write_behind.h"

namespace kv {
namespace {

using test::Cache;
using test::crash_image;
using test::MemLogDevice;
using test::Node;
using test::reboot;
using test::State;
using Op = AsyncDisk::Op;

constexpr size_t kB = LogDevice::kBlockSize;
constexpr size_t kWriteFlushLimit = 11 * 4096;

// One operation at a time, applied to a MemLogDevice (which journals it) when
// it completes: when finish() says so, or when the device waits for it. The
// bytes are read from the caller's buffer at completion, so a buffer that
// moved or changed while in flight shows.
class FakeDisk final : public AsyncDisk {
 public:
  struct Started {
    Op op;
    uint64_t offset;
    size_t len;
  };

  explicit FakeDisk(MemLogDevice& mem) : m_mem(mem) {}

  uint64_t capacity() const override { return m_mem.capacity(); }
  bool read(uint64_t offset, void* buf, size_t len) override {
    EXPECT_FALSE(m_busy) << "read while an operation is on the disk";
    return m_mem.read(offset, buf, len);
  }
  bool start(Op op, uint64_t offset, const void* buf, size_t len) override {
    EXPECT_FALSE(m_busy) << "two operations on the disk at once";
    started.push_back({op, offset, len});
    m_busy = true;
    m_done = false;
    m_op = op, m_offset = offset, m_buf = buf, m_len = len;
    return true;
  }
  std::optional<bool> reap(bool wait) override {
    if (!m_busy || !(m_done || wait)) return std::nullopt;
    if (wait) ++waits;
    m_busy = false;
    if (fail_next) return false;
    bool ok = true;
    if (m_op != Op::kFlush) ok = m_mem.write(m_offset, m_buf, m_len);
    if (m_op != Op::kWrite) ok = ok && m_mem.flush();
    return ok;
  }
  size_t write_flush_limit() const override { return kWriteFlushLimit; }

  void finish() { m_done = true; }
  bool busy() const { return m_busy; }

  std::vector<Started> started;
  int waits = 0;
  bool fail_next = false;

 private:
  MemLogDevice& m_mem;
  bool m_busy = false;
  bool m_done = false;
  Op m_op = Op::kWrite;
  uint64_t m_offset = 0;
  const void* m_buf = nullptr;
  size_t m_len = 0;
};

struct Rig {
  explicit Rig(size_t bound = WriteBehindDevice::kDefaultBound, uint64_t cap = 4u << 20)
      : mem(cap), dev(make(mem, disk), bound) {}
  static std::unique_ptr<AsyncDisk> make(MemLogDevice& mem, FakeDisk*& out) {
    auto d = std::make_unique<FakeDisk>(mem);
    out = d.get();
    return d;
  }
  // A write of `blocks` blocks of `fill` at block `at`, mirrored in `expect`.
  bool put(uint64_t at, size_t blocks, char fill) {
    std::vector<uint8_t> b(blocks * kB, static_cast<uint8_t>(fill));
    if (expect.size() < (at + blocks) * kB) expect.resize((at + blocks) * kB, 0);
    memcpy(expect.data() + at * kB, b.data(), b.size());
    return dev.write(at * kB, b.data(), b.size());
  }
  bool on_disk_as_expected() {
    return memcmp(mem.data().data(), expect.data(), expect.size()) == 0;
  }

  MemLogDevice mem;
  FakeDisk* disk = nullptr;
  WriteBehindDevice dev;
  std::vector<uint8_t> expect;
};

// The log on top of the device: a server without sockets, its log on a
// WriteBehindDevice over a FakeDisk.
struct LogRig {
  explicit LogRig(FsyncPolicy fsync, uint64_t cap = 4u << 20, uint64_t compact_min = UINT64_MAX / 4)
      : mem(cap), dev(Rig::make(mem, disk)), node(dev, fsync, compact_min) {}
  // A crash right now, every unflushed block lost, boots the node's state
  // of `keys` keys: what the replies sent so far may rely on.
  void expect_durable(size_t keys) const {
    State got = reboot(test::image_after_crash(mem));
    EXPECT_EQ(got.size(), keys);
    EXPECT_EQ(got, node.state());
  }

  MemLogDevice mem;
  FakeDisk* disk = nullptr;
  WriteBehindDevice dev;
  Node node;
};

TEST(WriteBehind, AppendsWhileAWriteIsInFlightBecomeOneWrite) {
  Rig r;
  ASSERT_TRUE(r.put(0, 1, 'a'));
  EXPECT_TRUE(r.disk->started.empty());  // write() only queues
  ASSERT_TRUE(r.dev.poll());
  ASSERT_EQ(r.disk->started.size(), 1u);
  // The log's pattern: each append rewrites the last block and adds one.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(r.put(i, 2, static_cast<char>('b' + i % 20)));
    ASSERT_TRUE(r.dev.poll());
  }
  EXPECT_EQ(r.disk->started.size(), 1u);
  r.disk->finish();
  ASSERT_TRUE(r.dev.poll());
  ASSERT_EQ(r.disk->started.size(), 2u);
  EXPECT_EQ(r.disk->started[1].op, Op::kWrite);
  EXPECT_EQ(r.disk->started[1].offset, 0u);
  EXPECT_EQ(r.disk->started[1].len, 101 * kB);
  r.disk->finish();
  ASSERT_TRUE(r.dev.poll());
  EXPECT_FALSE(r.disk->busy());
  EXPECT_TRUE(r.on_disk_as_expected());
  EXPECT_EQ(r.disk->waits, 0);
  EXPECT_EQ(r.dev.stats().waits, 0u);
}

// A write over bytes the extent already holds (the log's partial block)
// replaces them in place; what runs past its end extends it.
TEST(WriteBehind, WritesOverlayTheExtentAndExtendIt) {
  Rig r;
  ASSERT_TRUE(r.put(0, 4, 'a'));
  ASSERT_TRUE(r.put(1, 1, 'b'));  // inside
  EXPECT_EQ(r.dev.queued_bytes(), 4 * kB);
  ASSERT_TRUE(r.put(3, 3, 'c'));  // over the last block and past it
  EXPECT_EQ(r.dev.queued_bytes(), 6 * kB);
  ASSERT_TRUE(r.dev.flush());
  ASSERT_EQ(r.disk->started.size(), 1u);
  EXPECT_EQ(r.disk->started[0].len, 6 * kB);
  EXPECT_TRUE(r.on_disk_as_expected());
}

TEST(WriteBehind, FlushCarriesASmallExtentInOneRoundTrip) {
  Rig r;
  ASSERT_TRUE(r.put(8, 3, 'x'));
  ASSERT_TRUE(r.dev.flush());
  ASSERT_EQ(r.disk->started.size(), 1u);
  EXPECT_EQ(r.disk->started[0].op, Op::kWriteFlush);
  EXPECT_EQ(r.mem.flushes, 1);
  // Durable: a crash that loses every unflushed block still has it.
  auto img = test::image_after_crash(r.mem);
  EXPECT_EQ(memcmp(img.data(), r.expect.data(), r.expect.size()), 0);
  ASSERT_TRUE(r.dev.flush());  // nothing new: no I/O
  EXPECT_EQ(r.disk->started.size(), 1u);
}

TEST(WriteBehind, LargeExtentIsWrittenThenFlushed) {
  Rig r;
  ASSERT_TRUE(r.put(0, kWriteFlushLimit / kB + 1, 'y'));
  ASSERT_TRUE(r.dev.flush());
  ASSERT_EQ(r.disk->started.size(), 2u);
  EXPECT_EQ(r.disk->started[0].op, Op::kWrite);
  EXPECT_EQ(r.disk->started[1].op, Op::kFlush);
  EXPECT_TRUE(r.on_disk_as_expected());
  EXPECT_EQ(r.mem.flushes, 1);
}

TEST(WriteBehind, FlushCoversTheWriteInFlightAndTheExtent) {
  Rig r;
  ASSERT_TRUE(r.put(0, 2, 'a'));
  ASSERT_TRUE(r.dev.poll());  // 'a' is on the disk, not finished
  ASSERT_TRUE(r.put(1, 2, 'b'));
  ASSERT_TRUE(r.dev.flush());
  ASSERT_EQ(r.disk->started.size(), 2u);
  EXPECT_EQ(r.disk->started[1].op, Op::kWriteFlush);  // covers the completed 'a' too
  auto img = test::image_after_crash(r.mem);
  EXPECT_EQ(memcmp(img.data(), r.expect.data(), r.expect.size()), 0);
}

TEST(WriteBehind, FlushAsyncStartsWithoutWaiting) {
  Rig r;
  ASSERT_TRUE(r.put(0, 1, 'a'));
  ASSERT_TRUE(r.dev.poll());
  ASSERT_TRUE(r.put(0, 2, 'b'));
  ASSERT_TRUE(r.dev.flush_async());  // the write in flight is not done: nothing more starts
  EXPECT_EQ(r.disk->started.size(), 1u);
  EXPECT_EQ(r.mem.flushes, 0);
  r.disk->finish();
  ASSERT_TRUE(r.dev.poll());
  ASSERT_EQ(r.disk->started.size(), 2u);
  EXPECT_EQ(r.disk->started[1].op, Op::kWriteFlush);
  r.disk->finish();
  ASSERT_TRUE(r.dev.poll());
  EXPECT_EQ(r.mem.flushes, 1);
  EXPECT_EQ(r.disk->waits, 0);
  EXPECT_TRUE(r.on_disk_as_expected());
}

TEST(WriteBehind, FlushAsyncDoesNotStarveBehindASteadyStreamOfWrites) {
  Rig r;
  ASSERT_TRUE(r.put(0, kWriteFlushLimit / kB + 1, 'a'));
  ASSERT_TRUE(r.dev.flush_async());  // too big to carry the flush: written first
  for (int i = 0; i < 3 && r.mem.flushes == 0; ++i) {
    ASSERT_TRUE(r.put(kWriteFlushLimit / kB + i, kWriteFlushLimit / kB + 1, 'b'));  // keeps the extent big
    r.disk->finish();
    ASSERT_TRUE(r.dev.poll());
  }
  EXPECT_EQ(r.mem.flushes, 1);
  EXPECT_EQ(r.disk->started[1].op, Op::kFlush);
}

TEST(WriteBehind, ExtentPastTheBoundWaitsForTheDisk) {
  Rig r(8 * kB);
  ASSERT_TRUE(r.put(0, 1, 'a'));
  ASSERT_TRUE(r.dev.poll());
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(r.put(i, 2, 'b'));
  EXPECT_EQ(r.disk->waits, 0);  // 7 blocks: under the bound
  ASSERT_TRUE(r.put(6, 2, 'c'));   // 7 + 2 > 8: the caller waits, the extent goes out, then 'c' joins the queue
  EXPECT_EQ(r.disk->waits, 1);
  EXPECT_EQ(r.dev.queued_bytes(), 2 * kB);
  EXPECT_EQ(r.disk->started.size(), 2u);
  ASSERT_TRUE(r.dev.flush());
  EXPECT_TRUE(r.on_disk_as_expected());
}

// The log's appends against a disk that only finishes when waited for: the
// queue never passes the bound, and the buffers (the queued extent, and the
// one on the disk or the spare) stay within twice it, where doubling used to
// take them to almost four times it.
TEST(WriteBehind, BuffersStayWithinTheBound) {
  const size_t bound = 34 * kB;
  Rig r(bound, 16u << 20);
  uint64_t end = 0;  // blocks
  for (int i = 0; i < 5000; ++i) {
    size_t blocks = 1 + static_cast<size_t>((i * 7 + i / 3) % 7);
    ASSERT_TRUE(r.put(end, blocks, static_cast<char>('a' + i % 26)));  // rewrites the last block, adds the rest
    end += blocks - 1;
    ASSERT_LE(r.dev.queued_bytes(), bound) << "write " << i;
    ASSERT_LE(r.dev.buffered_bytes(), 2 * bound) << "write " << i;
    if (i % 40 == 39) r.disk->finish();  // now and then the disk keeps up
  }
  EXPECT_GT(r.disk->waits, 0);
  ASSERT_TRUE(r.dev.flush());
  EXPECT_TRUE(r.on_disk_as_expected());
}

// While both buffers are busy, a small write off the extent (a superblock,
// the first append after a compaction) gets a buffer of its own; once
// appends grow it past kSmallWrite it moves into one of the two, so the
// device holds no third buffer growing by doubling.
TEST(WriteBehind, SmallExtentMovesIntoABufferAsItGrows) {
  const size_t bound = 64 * kB;
  Rig r(bound);
  ASSERT_TRUE(r.put(0, 8, 'a'));
  ASSERT_TRUE(r.dev.poll());       // 'a' on the disk
  ASSERT_TRUE(r.put(8, 8, 'b'));   // the queued extent: both buffers busy
  ASSERT_TRUE(r.put(200, 1, 's'));  // off the extent, small: a buffer of its own
  EXPECT_EQ(r.dev.buffered_bytes(), 2 * bound + kB);
  r.disk->finish();
  ASSERT_TRUE(r.dev.poll());  // 'a' done, 'b' on the disk: one buffer free
  for (uint64_t at = 200; at < 230; ++at) ASSERT_TRUE(r.put(at, 2, static_cast<char>('c' + at % 20)));
  EXPECT_EQ(r.dev.buffered_bytes(), 2 * bound);
  ASSERT_TRUE(r.dev.flush());
  EXPECT_TRUE(r.on_disk_as_expected());
}

TEST(WriteBehind, WritesOffTheExtentReachTheDiskInOrder) {
  Rig r;
  ASSERT_TRUE(r.put(100, 2, 'a'));
  ASSERT_TRUE(r.put(0, 1, 's'));  // a superblock: a second extent, behind the first
  ASSERT_TRUE(r.dev.poll());
  ASSERT_EQ(r.disk->started.size(), 1u);
  EXPECT_EQ(r.disk->started[0].offset, 100 * kB);
  ASSERT_TRUE(r.put(101, 1, 'b'));  // overlaps what is on the disk: waits its turn
  ASSERT_TRUE(r.dev.flush());
  EXPECT_TRUE(r.on_disk_as_expected());
  // Written in the order made: the second write of block 101 last.
  const auto& ops = r.mem.ops();
  size_t last101 = 0, first101 = ops.size();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].flush) continue;
    uint64_t lo = ops[i].offset, hi = lo + ops[i].bytes.size();
    if (lo <= 101 * kB && 101 * kB < hi) last101 = i, first101 = std::min(first101, i);
  }
  EXPECT_LT(first101, last101);
  EXPECT_EQ(ops[last101].bytes[101 * kB - ops[last101].offset], 'b');
}

TEST(WriteBehind, ReadSeesQueuedWrites) {
  Rig r;
  ASSERT_TRUE(r.put(4, 2, 'q'));
  std::vector<uint8_t> back(2 * kB);
  ASSERT_TRUE(r.dev.read(4 * kB, back.data(), back.size()));
  EXPECT_EQ(back, std::vector<uint8_t>(2 * kB, 'q'));
}

TEST(WriteBehind, AnErrorSticks) {
  Rig r;
  ASSERT_TRUE(r.put(0, 1, 'a'));
  ASSERT_TRUE(r.dev.poll());
  r.disk->fail_next = true;
  r.disk->finish();
  EXPECT_FALSE(r.dev.poll());
  r.disk->fail_next = false;
  EXPECT_FALSE(r.put(1, 1, 'b'));
  EXPECT_FALSE(r.dev.flush());
  EXPECT_FALSE(r.dev.flush_async());
  EXPECT_FALSE(r.dev.poll());
}

TEST(WriteBehind, MisalignedOrOutOfRangeIsRefused) {
  Rig r(WriteBehindDevice::kDefaultBound, 64 * kB);
  uint8_t b[kB] = {};
  EXPECT_FALSE(r.dev.write(1, b, kB));
  EXPECT_FALSE(r.dev.write(0, b, 100));
  EXPECT_FALSE(r.dev.write(64 * kB, b, kB));
  EXPECT_FALSE(r.dev.read(63 * kB, b, 2 * kB));
  EXPECT_TRUE(r.dev.write(63 * kB, b, kB));
}

// The log on top: appendfsync=always answers a pass only once its records
// are durable, in one write+flush round trip; everysec never waits.
TEST(WriteBehind, AlwaysCommitIsDurableInOneRoundTrip) {
  LogRig r(FsyncPolicy::kAlways);
  ASSERT_EQ(r.node.open(), Aof::Status::kOk);
  size_t before = r.disk->started.size();
  for (int i = 0; i < 100; ++i) r.node.run({"SET", "k" + std::to_string(i), "v"});
  ASSERT_EQ(r.node.commit(), Aof::Status::kOk);
  ASSERT_EQ(r.disk->started.size(), before + 1);
  EXPECT_EQ(r.disk->started.back().op, Op::kWriteFlush);
  EXPECT_FALSE(r.disk->busy());
  r.expect_durable(100);  // right after the replies
}

TEST(WriteBehind, EverysecCommitsNeverWaitAndCoalesce) {
  LogRig r(FsyncPolicy::kEverySec);
  ASSERT_EQ(r.node.open(), Aof::Status::kOk);
  int waits = r.disk->waits;  // open() flushes and waits, as it must
  size_t before = r.disk->started.size();
  for (int pass = 0; pass < 30; ++pass) {
    for (int i = 0; i < 20; ++i) r.node.run({"SET", "k" + std::to_string(pass * 20 + i), "v"});
    ASSERT_EQ(r.node.commit(), Aof::Status::kOk);
  }
  EXPECT_EQ(r.disk->started.size(), before + 1);  // the first pass's write is still on the disk
  int64_t now = monotonic_ms();
  ASSERT_EQ(r.node.aof.tick(now + 2000), Aof::Status::kOk);
  r.disk->finish();
  ASSERT_EQ(r.node.aof.tick(now + 2100), Aof::Status::kOk);  // passes 2..30 in one write carrying the flush
  EXPECT_EQ(r.disk->started.size(), before + 2);
  EXPECT_EQ(r.disk->started.back().op, Op::kWriteFlush);
  r.disk->finish();
  ASSERT_EQ(r.node.commit(), Aof::Status::kOk);
  EXPECT_EQ(r.disk->waits, waits);
  r.expect_durable(600);
}

// A compaction mid-pass (reserve() when the log is full) holds the pass's
// earlier commands in its snapshot, published behind a barrier that nobody
// waits for: under always the pass's commit must wait for it, even with
// nothing left pending, or its replies go out before the records are durable.
TEST(WriteBehind, AlwaysCommitWaitsForAMidPassCompaction) {
  LogRig r(FsyncPolicy::kAlways);
  ASSERT_EQ(r.node.open(), Aof::Status::kOk);
  for (int i = 0; i < 50; ++i) r.node.run({"SET", "k" + std::to_string(i), "v"});
  ASSERT_EQ(r.node.aof.compact(r.node.keys, realtime_ms()), Aof::Status::kOk);
  ASSERT_EQ(r.node.commit(), Aof::Status::kOk);
  EXPECT_FALSE(r.disk->busy());
  r.expect_durable(50);
}

// Spills of a big pass join the queue without waiting; the commit's flush
// covers them all.
TEST(WriteBehind, AlwaysCommitCoversThePassSpills) {
  LogRig r(FsyncPolicy::kAlways);
  ASSERT_EQ(r.node.open(), Aof::Status::kOk);
  int waits = r.disk->waits;
  for (int i = 0; i < 3000; ++i) r.node.run({"SET", "k" + std::to_string(i), std::string(100, 'v')});
  EXPECT_GT(r.dev.stats().writes + r.dev.queued_bytes(), 0u) << "the batch went to the device mid-pass";
  EXPECT_EQ(r.disk->waits, waits) << "a spill does not wait";
  ASSERT_EQ(r.node.commit(), Aof::Status::kOk);
  r.expect_durable(3000);
}

// Compaction's flushes are barriers: under everysec the server waits for
// none of them, and the log still boots into the last state once flushed.
TEST(WriteBehind, EverysecCompactionDoesNotWait) {
  LogRig r(FsyncPolicy::kEverySec, 1u << 20, 32 * 1024);
  ASSERT_EQ(r.node.open(), Aof::Status::kOk);
  int waits = r.disk->waits;
  for (int pass = 0; pass < 100; ++pass) {
    std::string value(100, static_cast<char>('a' + pass % 26));
    for (int i = 0; i < 10; ++i) r.node.run({"SET", "k" + std::to_string(i), value});
    ASSERT_EQ(r.node.commit(), Aof::Status::kOk);
    if (r.node.aof.wants_compaction(r.node.keys)) {
      ASSERT_EQ(r.node.aof.compact(r.node.keys, realtime_ms()), Aof::Status::kOk);
    }
    r.disk->finish();  // the disk finishes one operation per pass
    ASSERT_TRUE(r.dev.poll());
  }
  EXPECT_GE(r.node.aof.compactions(), 3u);
  EXPECT_EQ(r.disk->waits, waits);
  ASSERT_TRUE(r.dev.flush());
  EXPECT_EQ(reboot(r.mem.data()), r.node.state());
}

// Crashes after every operation of a history with compactions, under
// everysec over the write-behind device: the log boots into a state the
// commands passed through, never a mix, and keeps everything flushed.
TEST(WriteBehind, CrashAnywhereBootsAPrefix) {
  MemLogDevice mem(1u << 20);
  FakeDisk* disk = nullptr;
  auto dev = std::make_unique<WriteBehindDevice>(Rig::make(mem, disk), 16 * kB);
  Node node(*dev, FsyncPolicy::kEverySec, 64 * 1024);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  // Every state the commands pass through (a crash may cut a pass short),
  // and the journal's length once each was flushed.
  std::vector<State> states{node.state()};
  std::vector<size_t> durable_at{mem.ops().size()};
  auto run = [&](std::vector<std::string> argv) {
    node.run(std::move(argv));
    states.push_back(node.state());
    durable_at.push_back(SIZE_MAX);
  };
  int64_t now = monotonic_ms();
  for (int pass = 0; pass < 60; ++pass) {
    for (int i = 0; i < 10; ++i)
      run({"SET", "k" + std::to_string((pass * 10 + i) % 150), std::string(200, static_cast<char>('a' + pass % 26))});
    if (pass % 9 == 0) run({"DEL", "k" + std::to_string(pass)});
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
    if (node.aof.wants_compaction(node.keys)) {
      ASSERT_EQ(node.aof.compact(node.keys, realtime_ms()), Aof::Status::kOk);
    }
    if (pass % 3 == 2) disk->finish();
    if (pass % 10 == 9) {
      ASSERT_EQ(node.aof.tick(now += 1500), Aof::Status::kOk);
      ASSERT_TRUE(dev->flush());  // as if the flush just started had finished
      durable_at.back() = mem.ops().size();
    }
  }
  EXPECT_GT(node.aof.compactions(), 0u);
  const auto& ops = mem.ops();
  const std::vector<uint8_t> blank(mem.capacity(), 0);
  for (size_t k = 0; k <= ops.size(); k += 1) {
    size_t must = 0;  // the newest state flushed by op k
    for (size_t i = 0; i < states.size(); ++i)
      if (durable_at[i] <= k) must = i;
    for (Cache cache : {Cache::kAllKept, Cache::kAllLost, Cache::kRandom}) {
      Aof::Status status;
      State got = reboot(crash_image(blank, ops, k, cache, static_cast<unsigned>(k)), &status);
      ASSERT_EQ(status, Aof::Status::kOk) << "k=" << k;
      bool ok = false;
      for (size_t i = must; i < states.size() && !ok; ++i) ok = got == states[i];
      ASSERT_TRUE(ok) << "crash after op " << k << " of " << ops.size() << " (cache " << int(cache)
                      << "): a state the commands never passed through, or older than the last flush";
    }
  }
}

}  // namespace
}  // namespace kv
