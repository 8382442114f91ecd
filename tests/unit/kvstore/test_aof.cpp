// The append-only log: replay, group commit and fsync policies, torn and
// corrupt tails at every byte of the last record, foreign devices,
// compaction, and a full log.
#include <gtest/gtest.h>

#include <unistd.h>

#include <string>
#include <vector>

#include "mem_log_device.h"

namespace kv {
namespace {

using test::MemLogDevice;
using test::Node;
using test::reboot;
using test::State;

constexpr uint64_t kCap = 4u << 20;

struct RecordPos {
  uint64_t offset;  // device offset
  uint64_t size;    // header + payload
};

std::optional<logfmt::Superblock> newest_superblock(const std::vector<uint8_t>& img) {
  std::optional<logfmt::Superblock> sb;
  for (uint64_t slot : logfmt::kSlotOffset) {
    auto s = logfmt::decode_superblock(img.data() + slot, img.size());
    if (s && (!sb || s->seq > sb->seq)) sb = s;
  }
  return sb;
}

// The records of the active region, found with the format's own rules.
std::vector<RecordPos> records_of(const std::vector<uint8_t>& img) {
  auto sb = newest_superblock(img);
  std::vector<RecordPos> out;
  if (!sb) return out;
  uint64_t pos = sb->active_offset(), end = pos + sb->region_size;
  while (pos + logfmt::kHeaderSize <= end) {
    auto h = logfmt::decode_header(img.data() + pos);
    if (!h || h->generation != sb->generation || !logfmt::payload_ok(*h, img.data() + pos + logfmt::kHeaderSize))
      break;
    out.push_back({pos, logfmt::kHeaderSize + h->payload_len});
    pos += logfmt::kHeaderSize + h->payload_len;
  }
  return out;
}

// A log with 50 keys and a last record setting "last".
std::vector<uint8_t> log_with_last_record(State& before_last) {
  MemLogDevice dev(kCap);
  Node node(dev);
  EXPECT_EQ(node.open(), Aof::Status::kOk);
  for (int i = 0; i < 50; ++i) node.run({"SET", "key" + std::to_string(i), std::string(i, 'v')});
  EXPECT_EQ(node.commit(), Aof::Status::kOk);
  before_last = node.state();
  node.run({"SET", "last", std::string(300, 'L')});
  EXPECT_EQ(node.commit(), Aof::Status::kOk);
  return dev.data();
}

TEST(Aof, BlankDeviceIsFormattedAndReplaysEmpty) {
  MemLogDevice dev(kCap);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  EXPECT_TRUE(node.aof.recovery().formatted);
  EXPECT_EQ(node.aof.log_bytes(), 0u);
  RecoveryReport r;
  EXPECT_TRUE(reboot(dev.data(), nullptr, &r).empty());
  EXPECT_FALSE(r.formatted);
  EXPECT_EQ(r.dropped_bytes, 0u);
}

TEST(Aof, EveryWriteCommandReplaysToTheSameState) {
  MemLogDevice dev(kCap);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  int64_t future_s = realtime_ms() / 1000 + 3600;
  std::vector<std::vector<std::string>> cmds = {
      {"SET", "a", "1"}, {"SET", "b", "x", "EX", "1000"}, {"SET", "c", "y", "PX", "100000"},
      {"SET", "d", "z", "EXAT", std::to_string(future_s)}, {"SET", "b", "x2", "KEEPTTL"},
      {"SET", "gone", "v", "PX", "1"}, {"SETNX", "e", "1"}, {"SETEX", "f", "100", "v"},
      {"PSETEX", "g", "100000", "v"}, {"GETSET", "a", "2"}, {"APPEND", "a", "3"}, {"INCR", "n"},
      {"INCRBY", "n", "10"}, {"DECR", "n"}, {"DECRBY", "n", "3"}, {"MSET", "m1", "1", "m2", "2"},
      {"EXPIRE", "m1", "500"}, {"PEXPIRE", "m2", "500000"}, {"EXPIREAT", "e", std::to_string(future_s)},
      {"PEXPIREAT", "e", std::to_string(future_s * 1000 + 5)}, {"PERSIST", "m2"}, {"DEL", "c", "nothing"},
      {"GETDEL", "g"}, {"SET", "h", "v"}, {"EXPIRE", "h", "-1"},
  };
  for (auto& c : cmds) node.run(c);
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  usleep(5000);  // "gone" expires
  State expect = node.state();
  EXPECT_EQ(expect.count("gone"), 0u);
  EXPECT_EQ(expect.at("b").first, "x2");
  EXPECT_NE(expect.at("b").second, kNoExpiry);
  EXPECT_EQ(expect.at("n").first, "7");
  EXPECT_EQ(reboot(dev.data()), expect);

  node.run({"FLUSHALL"});
  node.run({"SET", "after", "flush"});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(reboot(dev.data()), (State{{"after", {"flush", kNoExpiry}}}));
}

TEST(Aof, GroupCommitWritesAndFlushesOncePerBatch) {
  MemLogDevice dev(kCap);
  Node node(dev, FsyncPolicy::kAlways);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  int w = dev.writes, f = dev.flushes;
  for (int i = 0; i < 100; ++i) node.run({"SET", "k" + std::to_string(i), "v"});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(dev.writes - w, 1);
  EXPECT_EQ(dev.flushes - f, 1);
  ASSERT_EQ(node.commit(), Aof::Status::kOk);  // nothing pending: no I/O
  EXPECT_EQ(dev.writes - w, 1);
}

// A pass of a big pipeline (or one command's evictions, each a DEL) used to
// grow the pending batch without bound and run a 16 MiB guest's heap out:
// past the spill size the batch goes to the device mid-pass, nothing is
// flushed until the pass's commit, and that commit makes it all durable.
TEST(Aof, BatchPastTheSpillSizeGoesOutMidPass) {
  MemLogDevice dev(kCap);
  Node node(dev, FsyncPolicy::kAlways);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  int w = dev.writes, f = dev.flushes;
  for (int i = 0; i < 3000; ++i) {
    node.run({"SET", "k" + std::to_string(i), std::string(100, 'v')});
    ASSERT_LE(node.aof.buffer_bytes(), 2 * Aof::kSpillBytes) << "after " << i + 1 << " SETs";
  }
  EXPECT_GE(dev.writes - w, 3000 * 100 / static_cast<int>(Aof::kSpillBytes));
  EXPECT_EQ(dev.flushes, f) << "nothing is flushed mid-pass";
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(dev.flushes, f + 1);
  State got = reboot(test::image_after_crash(dev));  // right after the replies
  EXPECT_EQ(got.size(), 3000u);
  EXPECT_EQ(got, node.state());
}

// The pass's records all went out in a spill, none is left pending: under
// always the commit still flushes them before the replies.
TEST(Aof, AlwaysCommitFlushesASpillThatLeftNothingPending) {
  MemLogDevice dev(kCap);
  Node node(dev, FsyncPolicy::kAlways);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  int w = dev.writes, f = dev.flushes, n = 0;
  while (dev.writes == w && n < 10000) node.run({"SET", "k" + std::to_string(n++), std::string(100, 'v')});
  ASSERT_EQ(dev.writes, w + 1) << "no write mid-pass after " << n << " SETs";
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(dev.flushes, f + 1);
  EXPECT_EQ(reboot(test::image_after_crash(dev)), node.state());
}

TEST(Aof, EverysecFlushesFromTheTimerOnly) {
  MemLogDevice dev(kCap);
  Node node(dev, FsyncPolicy::kEverySec);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  int f = dev.flushes;
  node.run({"SET", "k", "v"});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(dev.flushes, f);
  int64_t now = monotonic_ms();
  ASSERT_EQ(node.aof.tick(now + 2000), Aof::Status::kOk);
  EXPECT_EQ(dev.flushes, f + 1);
  ASSERT_EQ(node.aof.tick(now + 2500), Aof::Status::kOk);  // within the second, nothing new
  EXPECT_EQ(dev.flushes, f + 1);
}

TEST(Aof, AppendsAcrossBlocksAndReboots) {
  MemLogDevice dev(kCap);
  State expect;
  for (int boot = 0; boot < 5; ++boot) {
    Node node(dev);
    ASSERT_EQ(node.open(), Aof::Status::kOk);
    EXPECT_EQ(node.state(), expect);
    EXPECT_EQ(node.aof.recovery().dropped_bytes, 0u) << "boot " << boot;
    for (int i = 0; i < 37; ++i) node.run({"SET", "b" + std::to_string(boot) + "_" + std::to_string(i), "x"});
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
    node.run({"SET", "odd", std::string(boot * 100 + 1, 'o')});  // ends mid-block
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
    expect = node.state();
  }
  EXPECT_EQ(reboot(dev.data()), expect);
}

// The write of the last record stopped after `k` bytes (the rest of it never
// reached the disk): for every k the earlier records survive, the tail is
// reported at the record's offset, and the next boot is clean.
TEST(Aof, TornTailAtEveryByteOfTheLastRecord) {
  State before;
  std::vector<uint8_t> img = log_with_last_record(before);
  auto recs = records_of(img);
  ASSERT_EQ(recs.size(), 51u);  // 50 SETs; the last record is the 51st
  RecordPos last = recs.back();
  for (uint64_t k = 0; k < last.size; ++k) {
    std::vector<uint8_t> torn = img;
    std::fill(torn.begin() + static_cast<long>(last.offset + k), torn.begin() + static_cast<long>(last.offset + last.size), 0);
    Aof::Status s;
    RecoveryReport r;
    ASSERT_EQ(reboot(torn, &s, &r), before) << "k=" << k;
    ASSERT_EQ(s, Aof::Status::kOk);
    if (k == 0) {
      EXPECT_EQ(r.dropped_bytes, 0u);  // nothing of it arrived: a clean end
      continue;
    }
    EXPECT_EQ(r.dropped_at, last.offset) << "k=" << k;
    if (k >= logfmt::kHeaderSize) EXPECT_EQ(r.dropped_bytes, last.size) << "k=" << k;
    else EXPECT_GT(r.dropped_bytes, 0u) << "k=" << k;
  }
}

TEST(Aof, RecoveryCutsTheTailOnceAndAppendsGoAfterIt) {
  State before;
  std::vector<uint8_t> img = log_with_last_record(before);
  RecordPos last = records_of(img).back();
  std::fill(img.begin() + static_cast<long>(last.offset + 100), img.begin() + static_cast<long>(last.offset + last.size), 0);
  MemLogDevice dev(img);
  {
    Node node(dev);
    ASSERT_EQ(node.open(), Aof::Status::kOk);
    EXPECT_EQ(node.aof.recovery().dropped_bytes, last.size);
    EXPECT_EQ(node.aof.recovery().dropped_at, last.offset);
    EXPECT_EQ(node.aof.log_bytes(), last.offset - 8192);  // region 0 starts at 8192
    node.run({"SET", "after", "recovery"});
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
    before = node.state();
  }
  RecoveryReport r;
  EXPECT_EQ(reboot(dev.data(), nullptr, &r), before);
  EXPECT_EQ(r.dropped_bytes, 0u);
  EXPECT_EQ(records_of(dev.data()).back().offset, last.offset) << "the new record replaced the torn one";
}

TEST(Aof, CorruptByteAnywhereInTheLastRecordIsDetected) {
  State before;
  std::vector<uint8_t> img = log_with_last_record(before);
  RecordPos last = records_of(img).back();
  for (uint64_t i = 0; i < last.size; ++i) {
    std::vector<uint8_t> bad = img;
    bad[last.offset + i] ^= 0x40;
    RecoveryReport r;
    ASSERT_EQ(reboot(bad, nullptr, &r), before) << "byte " << i;
    EXPECT_EQ(r.dropped_at, last.offset);
    EXPECT_GE(r.dropped_bytes, 1u);
  }
}

TEST(Aof, GarbageAfterTheLogIsDroppedAndMeasured) {
  State before;
  std::vector<uint8_t> img = log_with_last_record(before);
  RecordPos last = records_of(img).back();
  uint64_t end = last.offset + last.size;
  for (int i = 0; i < 100; ++i) img[end + static_cast<uint64_t>(i)] = static_cast<uint8_t>(0x41 + i % 26);
  RecoveryReport r;
  State after = reboot(img, nullptr, &r);
  EXPECT_EQ(after.size(), before.size() + 1);  // the last record is intact
  EXPECT_EQ(r.dropped_at, end);
  EXPECT_EQ(r.dropped_bytes, 100u);
}

TEST(Aof, StaleRecordsOfAnEarlierBootAreNotReplayed) {
  // Hand-made region: epoch 1, epoch 2, then a valid-looking epoch-1 record
  // (a leftover of a tail cut at boot 2) right at the log's end.
  MemLogDevice dev(kCap);
  for (int boot = 0; boot < 2; ++boot) {
    Node node(dev);
    ASSERT_EQ(node.open(), Aof::Status::kOk);
  }
  auto& img = dev.data();
  auto sb = newest_superblock(img);
  ASSERT_TRUE(sb);
  ASSERT_EQ(sb->epoch, 2u);
  std::string region;
  auto add = [&](uint32_t epoch, const char* key) {
    size_t start = logfmt::begin_record(region);
    append_command(region, std::vector<std::string>{"SET", key, "v"});
    logfmt::end_record(region, start, sb->generation, epoch);
  };
  add(1, "one");
  add(2, "two");
  add(1, "stale");
  memcpy(img.data() + sb->active_offset(), region.data(), region.size());
  State s = reboot(img);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.count("stale"), 0u);
}

TEST(Aof, ForeignOrTinyDevicesAreRefused) {
  MemLogDevice foreign(kCap);
  memcpy(foreign.data().data(), "\x7f" "ELF", 4);
  std::vector<uint8_t> before = foreign.data();
  Node node(foreign);
  EXPECT_EQ(node.open(), Aof::Status::kNotALog);
  EXPECT_TRUE(foreign.data() == before) << "a refused device is not written";
  MemLogDevice tiny(logfmt::kMinCapacity - 512);
  Node node2(tiny);
  EXPECT_EQ(node2.open(), Aof::Status::kTooSmall);
}

TEST(Aof, CompactionShrinksTheLogAndKeepsTheState) {
  MemLogDevice dev(kCap);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  for (int round = 0; round < 20; ++round)
    for (int i = 0; i < 100; ++i) node.run({"SET", "k" + std::to_string(i), std::to_string(round)});
  node.run({"SET", "ttl", "v", "EX", "1000"});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  uint64_t before = node.aof.log_bytes();
  uint32_t gen = node.aof.generation();
  ASSERT_EQ(node.aof.compact(node.keys, realtime_ms()), Aof::Status::kOk);
  EXPECT_LT(node.aof.log_bytes() * 10, before);
  EXPECT_EQ(node.aof.generation(), gen + 1);
  EXPECT_EQ(node.aof.base_bytes(), node.aof.log_bytes());
  EXPECT_EQ(reboot(dev.data()), node.state());
  node.run({"SET", "after", "compaction"});  // appends continue in the new region
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(reboot(dev.data()), node.state());
  ASSERT_EQ(node.aof.compact(node.keys, realtime_ms()), Aof::Status::kOk);  // and back to region 0
  EXPECT_EQ(reboot(dev.data()), node.state());
}

TEST(Aof, WantsCompactionAtTwiceTheLiveSize) {
  MemLogDevice dev(kCap);
  Node node(dev, FsyncPolicy::kNo, 64 * 1024);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  int rounds = 0;
  while (!node.aof.wants_compaction(node.keys) && rounds < 1000) {
    for (int i = 0; i < 50; ++i) node.run({"SET", "k" + std::to_string(i), std::string(100, 'a' + rounds % 26)});
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
    ++rounds;
  }
  EXPECT_GE(node.aof.log_bytes(), 64u * 1024);
  ASSERT_EQ(node.aof.compact(node.keys, realtime_ms()), Aof::Status::kOk);
  EXPECT_FALSE(node.aof.wants_compaction(node.keys)) << "no compaction right after one";
}

TEST(Aof, FullLogRefusesWritesButDeletesStillWork) {
  MemLogDevice dev(logfmt::kMinCapacity + 4096);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  std::string value(1000, 'x');
  int stored = 0;
  for (; stored < 1000; ++stored) {
    std::string r = node.run({"SET", "k" + std::to_string(stored), value});
    if (r != "+OK\r\n") {
      EXPECT_EQ(r, "-OOM command not allowed when the append-only log is full\r\n");
      break;
    }
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
  }
  EXPECT_LT(stored, 1000);
  EXPECT_GT(stored, 20);
  EXPECT_EQ(reboot(dev.data()), node.state());
  for (int i = 0; i < stored / 2; ++i) EXPECT_EQ(node.run({"DEL", "k" + std::to_string(i)}), ":1\r\n");
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(node.run({"SET", "again", value}), "+OK\r\n");  // a compaction made room
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(reboot(dev.data()), node.state());
}

TEST(Aof, WriteErrorIsStickyAndNothingIsAcknowledged) {
  MemLogDevice dev(kCap);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  node.run({"SET", "a", "1"});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  State acked = node.state();
  dev.fail_writes_after(0);
  node.run({"SET", "b", "2"});
  EXPECT_EQ(node.commit(), Aof::Status::kIoError);
  EXPECT_TRUE(node.aof.failed());
  EXPECT_EQ(node.commit(), Aof::Status::kIoError);
  EXPECT_EQ(reboot(dev.data()), acked);
}

}  // namespace
}  // namespace kv
