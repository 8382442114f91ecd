// maxmemory: the allocation count, noeviction's OOM replies (reads and DEL
// still served), each eviction policy's choice, evictions logged as DEL, and
// the entry table under random inserts and deletes.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "dispatcher_fixture.h"
#include "mem_log_device.h"
#include "memory.h"

namespace kv {
namespace {

using test::MemLogDevice;
using test::Node;
using test::reboot;

using test::kNow;
constexpr const char* kOom = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";

class Eviction : public test::DispatcherTest {
 protected:
  // A limit `room` bytes above what the process uses now.
  void limit(EvictionPolicy policy, uint64_t room) {
    MemoryLimit l;
    l.maxmemory = mem::used() + room;
    l.policy = policy;
    keys.set_limit(l);
  }
  bool has(int i) { return keys.find("key:" + std::to_string(i), kNow) != nullptr; }
};

TEST(Memory, CountsAllocationsAndParsesUnits) {
  uint64_t before = mem::used();
  auto* p = new std::string(1000, 'x');
  EXPECT_GE(mem::used(), before + 1000);
  EXPECT_GE(mem::peak(), mem::used());
  delete p;
  EXPECT_EQ(mem::used(), before);
  EXPECT_EQ(mem::parse_memory("100"), 100u);
  EXPECT_EQ(mem::parse_memory("1k"), 1000u);
  EXPECT_EQ(mem::parse_memory("1KB"), 1024u);
  EXPECT_EQ(mem::parse_memory("3mb"), 3u << 20);
  EXPECT_EQ(mem::parse_memory("2gb"), 2ull << 30);
  EXPECT_EQ(mem::parse_memory("1g"), 1000000000u);
  EXPECT_FALSE(mem::parse_memory("1x"));
  EXPECT_FALSE(mem::parse_memory("-1mb"));
  EXPECT_FALSE(mem::parse_memory("mb"));
  mem::HeapFigures heap{.limit = 100 << 20, .mapped = 10 << 20, .in_use = 9 << 20, .free = 2 << 20};
  EXPECT_EQ(mem::default_maxmemory(heap), (92u << 20) / 5 * 2);  // 40% of (100 - (10 - 2)) MiB
  EXPECT_EQ(mem::default_maxmemory(mem::HeapFigures{}), 0u);  // unknown heap: no limit
}

TEST_F(Eviction, NoEvictionRefusesGrowthButServesReadsAndDel) {
  limit(EvictionPolicy::kNoEviction, 256 * 1024);
  int stored = 0;
  std::string last;
  for (int i = 0; i < 100000 && (last = run({"SET", "key:" + std::to_string(i), std::string(100, 'v')})) == "+OK\r\n"; ++i)
    ++stored;
  EXPECT_EQ(last, kOom);
  EXPECT_GT(stored, 100);
  EXPECT_EQ(run({"RPUSH", "list", "x"}), kOom);
  EXPECT_EQ(run({"GET", "key:0"}), "$100\r\n" + std::string(100, 'v') + "\r\n");
  EXPECT_EQ(run({"PING"}), "+PONG\r\n");
  EXPECT_EQ(keys.size(), static_cast<size_t>(stored));
  EXPECT_EQ(keys.evicted_keys(), 0u);
  for (int i = 0; i < stored / 2; ++i) run({"DEL", "key:" + std::to_string(i)});
  EXPECT_EQ(run({"SET", "again", "v"}), "+OK\r\n");  // room again
}

TEST_F(Eviction, AllKeysLruKeepsRecentlyUsedKeys) {
  limit(EvictionPolicy::kAllKeysLru, 512 * 1024);
  for (int i = 0; i < 20000; ++i) {
    ASSERT_EQ(run({"SET", "key:" + std::to_string(i), std::string(64, 'v')}), "+OK\r\n") << i;
    if (i % 16 == 0) run({"GET", "key:0"});  // key:0 stays hot
  }
  EXPECT_GT(keys.evicted_keys(), 1000u);
  EXPECT_LE(mem::used(), keys.limit().maxmemory + 4096);
  EXPECT_TRUE(has(0));
  for (int i = 19900; i < 20000; ++i) EXPECT_TRUE(has(i)) << i;  // the newest
  int old = 0;
  for (int i = 1; i < 1000; ++i) old += has(i);
  EXPECT_LT(old, 50);  // the oldest, never touched again, went first
}

TEST_F(Eviction, VolatilePoliciesEvictOnlyKeysWithATime) {
  for (EvictionPolicy p : {EvictionPolicy::kVolatileLru, EvictionPolicy::kVolatileRandom, EvictionPolicy::kVolatileTtl}) {
    run({"FLUSHALL"});
    limit(p, 512 * 1024);
    for (int i = 0; i < 1000; ++i) run({"SET", "keep:" + std::to_string(i), std::string(64, 'k')});
    std::string last;
    for (int i = 0; i < 50000 && (last = run({"SET", "key:" + std::to_string(i), std::string(64, 'v'), "EX",
                                              std::to_string(100000 + i)})) == "+OK\r\n"; ++i) {
    }
    EXPECT_EQ(last, "+OK\r\n") << eviction_policy_name(p);  // evicting timed keys made room each time
    for (int i = 0; i < 1000; ++i) ASSERT_TRUE(keys.find("keep:" + std::to_string(i), kNow)) << eviction_policy_name(p);
    if (p == EvictionPolicy::kVolatileTtl) {
      int soonest = 0;
      for (int i = 0; i < 1000; ++i) soonest += has(i);
      EXPECT_LT(soonest, 50);  // the keys that expire first were evicted first
      EXPECT_TRUE(has(49999));
    }
  }
  // Only keys without a time left: the volatile policies cannot evict, so OOM.
  run({"FLUSHALL"});
  limit(EvictionPolicy::kVolatileLru, 256 * 1024);
  std::string last;
  for (int i = 0; i < 100000 && (last = run({"SET", "key:" + std::to_string(i), std::string(64, 'v')})) == "+OK\r\n"; ++i) {
  }
  EXPECT_EQ(last, kOom);
}

TEST_F(Eviction, AllKeysRandomAndAggregates) {
  limit(EvictionPolicy::kAllKeysRandom, 512 * 1024);
  for (int i = 0; i < 3000; ++i) {
    std::string k = "key:" + std::to_string(i);
    ASSERT_EQ(run({"RPUSH", k, std::string(200, 'a'), std::string(200, 'b')}), ":2\r\n") << i;
  }
  EXPECT_GT(keys.evicted_keys(), 100u);
  EXPECT_LE(mem::used(), keys.limit().maxmemory + 4096);
}

TEST(EvictionLog, EvictedKeysAreLoggedAsDel) {
  MemLogDevice dev(16u << 20);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  MemoryLimit l;
  l.maxmemory = mem::used() + 256 * 1024;
  l.policy = EvictionPolicy::kAllKeysLru;
  node.keys.set_limit(l);
  for (int i = 0; i < 10000; ++i) node.run({"SET", "key:" + std::to_string(i), std::string(64, 'v')});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  ASSERT_GT(node.keys.evicted_keys(), 1000u);
  EXPECT_EQ(reboot(dev.data()), node.state());  // the log holds the DELs: no evicted key comes back
}

TEST(EntryTable, MatchesAMapUnderRandomInsertsAndDeletes) {
  EntryTable table;
  std::map<std::string, std::string> model;
  std::mt19937 rng(7);
  for (int step = 0; step < 200000; ++step) {
    std::string key = "k" + std::to_string(rng() % 5000);
    if (rng() % 3 != 0) {
      if (Entry* old = table.find(key)) {
        Entry* e = Entry::make_string(key, std::to_string(step), kNoExpiry);
        table.replace(old, e);
        Entry::destroy(old);
      } else {
        table.insert(Entry::make_string(key, std::to_string(step), kNoExpiry));
      }
      model[key] = std::to_string(step);
    } else if (Entry* e = table.remove(key)) {
      Entry::destroy(e);
      model.erase(key);
    }
    if (step % 20000 == 0 || step == 199999) {
      ASSERT_EQ(table.size(), model.size());
      for (const auto& [k, v] : model) {
        Entry* e = table.find(k);
        ASSERT_TRUE(e) << k;
        ASSERT_EQ(e->str(), v);
      }
    }
  }
  while (!model.empty()) {  // shrinking back down
    Entry::destroy(table.remove(model.begin()->first));
    model.erase(model.begin());
    if (model.size() % 500 == 0) {
      for (const auto& [k, v] : model) ASSERT_TRUE(table.find(k)) << k;
    }
  }
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace kv
