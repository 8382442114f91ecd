// Crash safety. A MemLogDevice journals every write and flush; each test
// replays a crash after every prefix of that journal, with the disk's cache
// keeping all, none or a random half of the unflushed blocks, and with the
// write in flight torn, then boots the image and checks the state: a
// compaction leaves the old log or the new one, never a mix, and nothing
// acknowledged (flushed under appendfsync=always) is ever lost.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mem_log_device.h"

namespace kv {
namespace {

using test::Cache;
using test::crash_image;
using test::MemLogDevice;
using test::Node;
using test::reboot;
using test::State;

// States the log may boot into once a phase's operations have started; the
// last one is what the phase acknowledges.
struct Phase {
  std::vector<State> states;
  size_t acked_at = 0;  // journal length once it is durable
};

struct Variant {
  Cache cache;
  unsigned seed;
  size_t torn;
};

std::vector<Variant> variants_at(const std::vector<MemLogDevice::Op>& ops, size_t k) {
  std::vector<Variant> v = {{Cache::kAllKept, 0, 0}, {Cache::kAllLost, 0, 0}};
  for (unsigned seed = 1; seed <= 4; ++seed) v.push_back({Cache::kRandom, seed, 0});
  if (k < ops.size() && !ops[k].flush) {
    v.push_back({Cache::kAllKept, 0, ops[k].bytes.size() / 2});
    v.push_back({Cache::kAllKept, 0, 100});
    v.push_back({Cache::kRandom, 9, ops[k].bytes.size() - 1});
  }
  return v;
}

// Boots every crash image of `ops` over `base` and checks the state against `phases`.
void check_crashes(const std::vector<uint8_t>& base, const std::vector<MemLogDevice::Op>& ops,
                   const std::vector<Phase>& phases) {
  for (size_t k = 0; k <= ops.size(); ++k) {
    size_t lo = 0, hi = phases.size() - 1;
    for (size_t i = 0; i < phases.size(); ++i)
      if (phases[i].acked_at <= k) lo = i;
    for (size_t i = phases.size(); i-- > 0;)  // the phase op k (torn, perhaps) belongs to
      if (phases[i].acked_at > k) hi = i;
    std::vector<const State*> allowed{&phases[lo].states.back()};
    for (size_t i = lo + 1; i <= hi; ++i)
      for (const State& s : phases[i].states) allowed.push_back(&s);
    for (const Variant& v : variants_at(ops, k)) {
      Aof::Status status;
      State got = reboot(crash_image(base, ops, k, v.cache, v.seed, v.torn), &status);
      ASSERT_EQ(status, Aof::Status::kOk) << "k=" << k;
      bool ok = false;
      for (const State* s : allowed) ok = ok || got == *s;
      ASSERT_TRUE(ok) << "crash after " << k << " of " << ops.size() << " ops (cache " << int(v.cache) << ", seed "
                      << v.seed << ", torn " << v.torn << "): " << got.size() << " keys, phases " << lo << ".." << hi;
    }
  }
}

// A history with overwrites, deletes, counters and TTLs, ~0.5 MiB live.
void build_history(Node& node) {
  std::string big(300, 'v');
  for (int i = 0; i < 1500; ++i) {
    node.run({"SET", "key:" + std::to_string(i), big + std::to_string(i)});
    if (i % 7 == 0) node.run({"SET", "key:" + std::to_string(i / 2), "over" + std::to_string(i)});
    if (i % 11 == 0) node.run({"DEL", "key:" + std::to_string(i / 3)});
    if (i % 13 == 0) node.run({"EXPIRE", "key:" + std::to_string(i), "86400"});
    if (i % 17 == 0) node.run({"INCRBY", "counter", std::to_string(i)});
    if (i % 50 == 49) {
      ASSERT_EQ(node.commit(), Aof::Status::kOk);
    }
  }
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
}

TEST(AofCrash, CompactionLeavesTheOldOrTheNewLogAndAppendsAfterItArePrefixes) {
  MemLogDevice dev(4u << 20);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  build_history(node);
  std::vector<uint8_t> base = dev.data();  // all flushed: appendfsync=always
  dev.clear_ops();
  std::vector<Phase> phases{{{node.state()}, 0}};

  node.run({"SET", "during", "compaction"});  // executed; its reply waits for the next commit
  ASSERT_EQ(node.aof.compact(node.keys, realtime_ms()), Aof::Status::kOk);
  phases.push_back({{node.state()}, dev.ops().size()});
  size_t compaction_writes = 0;
  for (const auto& op : dev.ops()) compaction_writes += op.flush ? 0 : 1;
  EXPECT_GE(compaction_writes, 3u) << "the snapshot should take several writes";

  for (int batch = 0; batch < 3; ++batch) {
    Phase p;
    for (int i = 0; i < 15; ++i) {
      node.run({"SET", "b" + std::to_string(batch) + ":" + std::to_string(i), std::string(40, 'x')});
      p.states.push_back(node.state());  // an unacknowledged batch may survive in part, in order
    }
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
    p.acked_at = dev.ops().size();
    phases.push_back(std::move(p));
  }
  check_crashes(base, dev.ops(), phases);
}

TEST(AofCrash, CompactionTriggeredByAFullRegionInsideABatch) {
  // reserve() compacts in the middle of a pass; the batch's earlier commands
  // are in the snapshot, so their records are dropped, not lost.
  MemLogDevice dev(logfmt::kMinCapacity + 64 * 1024);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  for (int i = 0; i < 40; ++i) node.run({"SET", "k" + std::to_string(i % 10), std::string(900, 'a' + i % 26)});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  std::vector<uint8_t> base = dev.data();
  dev.clear_ops();
  std::vector<Phase> phases{{{node.state()}, 0}};
  Phase p;
  uint64_t compactions = node.aof.compactions();
  for (int i = 0; i < 200 && node.aof.compactions() == compactions; ++i) {
    ASSERT_EQ(node.run({"SET", "k" + std::to_string(i % 10), std::string(900, 'A' + i % 26)}), "+OK\r\n");
    p.states.push_back(node.state());
  }
  ASSERT_GT(node.aof.compactions(), compactions);
  ASSERT_GE(p.states.size(), 2u);
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  p.acked_at = dev.ops().size();
  EXPECT_GE(p.acked_at, 6u) << "snapshot write, flush, superblock, flush, then the batch's write and flush";
  phases.push_back(std::move(p));
  check_crashes(base, dev.ops(), phases);
}

TEST(AofCrash, CrashWhileRecoveringATornTail) {
  MemLogDevice first(2u << 20);
  State before;
  {
    Node node(first);
    ASSERT_EQ(node.open(), Aof::Status::kOk);
    for (int i = 0; i < 30; ++i) node.run({"SET", "k" + std::to_string(i), std::string(i * 10, 'z')});
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
    before = node.state();
    node.run({"SET", "torn", std::string(3000, 't')});
    ASSERT_EQ(node.commit(), Aof::Status::kOk);
  }
  // Tear the last write: keep its first 700 bytes only.
  std::vector<uint8_t> torn = crash_image(std::vector<uint8_t>(first.data().size(), 0), first.ops(),
                                          first.ops().size() - 2, Cache::kAllKept, 0, 700);
  MemLogDevice dev(torn);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  ASSERT_GT(node.aof.recovery().dropped_bytes, 0u);
  ASSERT_EQ(node.state(), before);
  check_crashes(torn, dev.ops(), {{{before}, 0}});
}

TEST(AofCrash, CrashWhileFormatting) {
  MemLogDevice dev(1u << 20);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  check_crashes(std::vector<uint8_t>(1u << 20, 0), dev.ops(), {{{State{}}, 0}});
}

}  // namespace
}  // namespace kv
