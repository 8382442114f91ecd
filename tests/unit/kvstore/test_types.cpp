// Lists, hashes, sets and sorted sets through the dispatcher: replies in
// Redis 7's words, WRONGTYPE, empty aggregates deleted, the key commands on
// every type; then every type through the log: replay, compaction, reboot.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dispatcher_fixture.h"
#include "mem_log_device.h"

namespace kv {
namespace {

using test::MemLogDevice;
using test::Node;
using test::reboot;

using test::kNow;
constexpr const char* kWrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

using Types = test::DispatcherTest;

TEST_F(Types, Lists) {
  EXPECT_EQ(run({"RPUSH", "l", "a", "b", "c"}), ":3\r\n");
  EXPECT_EQ(run({"LPUSH", "l", "z"}), ":4\r\n");
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), "*4\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
  EXPECT_EQ(run({"LRANGE", "l", "-2", "100"}), "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
  EXPECT_EQ(run({"LRANGE", "l", "3", "1"}), "*0\r\n");
  EXPECT_EQ(run({"LINDEX", "l", "-1"}), "$1\r\nc\r\n");
  EXPECT_EQ(run({"LLEN", "l"}), ":4\r\n");
  EXPECT_EQ(run({"LPOP", "l"}), "$1\r\nz\r\n");
  EXPECT_EQ(run({"RPOP", "l", "2"}), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
  EXPECT_EQ(run({"LPOP", "l", "-1"}), "-ERR value is out of range, must be positive\r\n");
  EXPECT_EQ(run({"TYPE", "l"}), "+list\r\n");
  EXPECT_EQ(run({"RPOP", "l"}), "$1\r\na\r\n");
  EXPECT_EQ(run({"EXISTS", "l"}), ":0\r\n");  // the empty list is gone
  EXPECT_EQ(run({"LPOP", "l"}), "$-1\r\n");
  EXPECT_EQ(run({"LPOP", "l", "2"}), "*-1\r\n");
  EXPECT_EQ(run({"LLEN", "l"}), ":0\r\n");
}

TEST_F(Types, Hashes) {
  EXPECT_EQ(run({"HSET", "h", "f", "1", "g", "2"}), ":2\r\n");
  EXPECT_EQ(run({"HSET", "h", "f", "3"}), ":0\r\n");
  EXPECT_EQ(run({"HSET", "h", "f"}), "-ERR wrong number of arguments for 'hset' command\r\n");
  EXPECT_EQ(run({"HGET", "h", "f"}), "$1\r\n3\r\n");
  EXPECT_EQ(run({"HGET", "h", "nope"}), "$-1\r\n");
  EXPECT_EQ(run({"HMGET", "h", "g", "nope"}), "*2\r\n$1\r\n2\r\n$-1\r\n");
  EXPECT_EQ(run({"HLEN", "h"}), ":2\r\n");
  EXPECT_EQ(run({"HEXISTS", "h", "g"}), ":1\r\n");
  EXPECT_EQ(run({"HINCRBY", "h", "g", "40"}), ":42\r\n");
  EXPECT_EQ(run({"HINCRBY", "h", "new", "-1"}), ":-1\r\n");
  EXPECT_EQ(run({"HSET", "h", "s", "x"}), ":1\r\n");
  EXPECT_EQ(run({"HINCRBY", "h", "s", "1"}), "-ERR hash value is not an integer\r\n");
  std::string all = run({"HGETALL", "h"});
  EXPECT_EQ(all.substr(0, 4), "*8\r\n");
  EXPECT_NE(all.find("$1\r\ng\r\n$2\r\n42\r\n"), std::string::npos);
  EXPECT_EQ(run({"HDEL", "h", "f", "g", "nope"}), ":2\r\n");
  EXPECT_EQ(run({"TYPE", "h"}), "+hash\r\n");
  EXPECT_EQ(run({"HDEL", "h", "new", "s"}), ":2\r\n");
  EXPECT_EQ(run({"EXISTS", "h"}), ":0\r\n");
  EXPECT_EQ(run({"HGETALL", "h"}), "*0\r\n");
}

TEST_F(Types, Sets) {
  EXPECT_EQ(run({"SADD", "s", "a", "b", "c", "a"}), ":3\r\n");
  EXPECT_EQ(run({"SCARD", "s"}), ":3\r\n");
  EXPECT_EQ(run({"SISMEMBER", "s", "b"}), ":1\r\n");
  EXPECT_EQ(run({"SISMEMBER", "s", "z"}), ":0\r\n");
  EXPECT_EQ(run({"SREM", "s", "b", "z"}), ":1\r\n");
  std::string members = run({"SMEMBERS", "s"});
  EXPECT_TRUE(members == "*2\r\n$1\r\na\r\n$1\r\nc\r\n" || members == "*2\r\n$1\r\nc\r\n$1\r\na\r\n") << members;
  std::string popped = run({"SPOP", "s"});
  EXPECT_TRUE(popped == "$1\r\na\r\n" || popped == "$1\r\nc\r\n") << popped;
  EXPECT_EQ(run({"SPOP", "s", "5"}).substr(0, 4), "*1\r\n");
  EXPECT_EQ(run({"EXISTS", "s"}), ":0\r\n");
  EXPECT_EQ(run({"SPOP", "s"}), "$-1\r\n");
  EXPECT_EQ(run({"SPOP", "s", "1"}), "*0\r\n");
  for (int i = 0; i < 1000; ++i) run({"SADD", "big", std::to_string(i)});
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(run({"SPOP", "big"})[0], '$');  // every member can be drawn
  EXPECT_EQ(run({"SCARD", "big"}), ":0\r\n");
}

TEST_F(Types, SortedSets) {
  EXPECT_EQ(run({"ZADD", "z", "1", "a", "2", "b", "1.5", "c"}), ":3\r\n");
  EXPECT_EQ(run({"ZADD", "z", "1", "b"}), ":0\r\n");
  EXPECT_EQ(run({"ZADD", "z", "CH", "3", "b", "4", "d"}), ":2\r\n");
  EXPECT_EQ(run({"ZADD", "z", "NX", "9", "a"}), ":0\r\n");
  EXPECT_EQ(run({"ZADD", "z", "XX", "NX", "9", "a"}), "-ERR XX and NX options at the same time are not compatible\r\n");
  EXPECT_EQ(run({"ZADD", "z", "GT", "0", "a"}), ":0\r\n");
  EXPECT_EQ(run({"ZADD", "z", "x", "a"}), "-ERR value is not a valid float\r\n");
  EXPECT_EQ(run({"ZADD", "z", "1", "a", "2"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"ZADD", "z", "INCR", "0.5", "a"}), "$3\r\n1.5\r\n");
  EXPECT_EQ(run({"ZSCORE", "z", "c"}), "$3\r\n1.5\r\n");
  EXPECT_EQ(run({"ZCARD", "z"}), ":4\r\n");
  // a 1.5 and c 1.5 tie: ordered by member bytes.
  EXPECT_EQ(run({"ZRANGE", "z", "0", "1", "WITHSCORES"}), "*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nc\r\n$3\r\n1.5\r\n");
  EXPECT_EQ(run({"ZRANGE", "z", "-2", "-1"}), "*2\r\n$1\r\nb\r\n$1\r\nd\r\n");
  EXPECT_EQ(run({"ZPOPMIN", "z"}), "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
  EXPECT_EQ(run({"ZREM", "z", "c", "nope"}), ":1\r\n");
  EXPECT_EQ(run({"TYPE", "z"}), "+zset\r\n");
  EXPECT_EQ(run({"ZPOPMIN", "z", "5"}), "*4\r\n$1\r\nb\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n");
  EXPECT_EQ(run({"EXISTS", "z"}), ":0\r\n");
  EXPECT_EQ(run({"ZADD", "z", "XX", "1", "a"}), ":0\r\n");
  EXPECT_EQ(run({"EXISTS", "z"}), ":0\r\n");
  EXPECT_EQ(run({"ZADD", "z", "inf", "a", "-inf", "b"}), ":2\r\n");
  EXPECT_EQ(run({"ZADD", "z", "INCR", "-inf", "a"}), "-ERR resulting score is not a number (NaN)\r\n");
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1", "WITHSCORES"}), "*4\r\n$1\r\nb\r\n$4\r\n-inf\r\n$1\r\na\r\n$3\r\ninf\r\n");
}

TEST_F(Types, WrongTypeAndKeyCommands) {
  run({"SET", "str", "v"});
  run({"RPUSH", "list", "a"});
  run({"HSET", "hash", "f", "v"});
  run({"SADD", "set", "m"});
  run({"ZADD", "zset", "1", "m"});
  for (const char* key : {"list", "hash", "set", "zset"}) {
    EXPECT_EQ(run({"GET", key}), kWrongType) << key;
    EXPECT_EQ(run({"INCR", key}), kWrongType) << key;
    EXPECT_EQ(run({"APPEND", key, "x"}), kWrongType) << key;
  }
  EXPECT_EQ(run({"LPUSH", "str", "a"}), kWrongType);
  EXPECT_EQ(run({"HGET", "list", "f"}), kWrongType);
  EXPECT_EQ(run({"SADD", "hash", "m"}), kWrongType);
  EXPECT_EQ(run({"ZADD", "set", "1", "m"}), kWrongType);
  EXPECT_EQ(run({"SMEMBERS", "zset"}), kWrongType);
  EXPECT_EQ(run({"MGET", "str", "list"}), "*2\r\n$1\r\nv\r\n$-1\r\n");
  EXPECT_EQ(run({"EXISTS", "str", "list", "hash", "set", "zset"}), ":5\r\n");
  EXPECT_EQ(run({"EXPIRE", "hash", "100"}), ":1\r\n");
  EXPECT_EQ(run({"TTL", "hash"}), ":100\r\n");
  EXPECT_EQ(run({"HGET", "hash", "f"}), "$1\r\nv\r\n");  // the value survives gaining a time
  EXPECT_EQ(run({"PERSIST", "hash"}), ":1\r\n");
  EXPECT_EQ(run({"HGET", "hash", "f"}), "$1\r\nv\r\n");
  EXPECT_EQ(run({"SET", "list", "now a string"}), "+OK\r\n");  // SET replaces any type
  EXPECT_EQ(run({"TYPE", "list"}), "+string\r\n");
  EXPECT_EQ(run({"DEL", "hash", "set", "zset", "nope"}), ":3\r\n");
  EXPECT_EQ(run({"DBSIZE"}), ":2\r\n");
  EXPECT_EQ(keys.live_bytes(), 3u + 1 + 4 + 12);  // only the two strings' key and value bytes are left
}

TEST_F(Types, ExpiredAggregateIsGone) {
  run({"SADD", "s", "m"});
  run({"PEXPIREAT", "s", std::to_string(kNow + 10)});
  std::string out;
  std::vector<std::string> argv{"SCARD", "s"};
  dispatcher.execute(client, argv, out, kNow + 11);
  EXPECT_EQ(out, ":0\r\n");
  EXPECT_EQ(keys.size(), 0u);
  EXPECT_EQ(keys.live_bytes(), 0u);
}

// Every type, some with a time, written through the log.
void write_every_type(Node& node, int n) {
  for (int i = 0; i < n; ++i) {
    std::string s = std::to_string(i);
    node.run({"RPUSH", "list", "item" + s});
    node.run({"HSET", "hash", "f" + s, "v" + s});
    node.run({"SADD", "set", "m" + s});
    node.run({"ZADD", "zset", s + ".25", "m" + s});
    node.run({"SET", "str" + s, "v" + s});
  }
  node.run({"LPOP", "list"});
  node.run({"SPOP", "set"});
  node.run({"ZPOPMIN", "zset"});
  node.run({"HDEL", "hash", "f1"});
  node.run({"HINCRBY", "hash", "counter", "7"});
  node.run({"ZADD", "zset", "-inf", "low", "1e300", "high", "0.1", "tenth"});
  node.run({"EXPIRE", "set", "1000"});
  node.run({"RPUSH", "timed", "x"});
  node.run({"PEXPIRE", "timed", "5000000"});
}

TEST(TypesLog, EveryTypeReplaysAndSurvivesCompaction) {
  MemLogDevice dev(4u << 20);
  Node node(dev);
  ASSERT_EQ(node.open(), Aof::Status::kOk);
  write_every_type(node, 3000);  // several batches per aggregate in a snapshot
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  test::State before = node.state();
  EXPECT_EQ(before.size(), 3000u + 5);
  EXPECT_EQ(reboot(dev.data()), before);  // replay of the commands
  ASSERT_EQ(node.aof.compact(node.keys, realtime_ms()), Aof::Status::kOk);
  EXPECT_EQ(reboot(dev.data()), before);  // the snapshot's RPUSH/HSET/SADD/ZADD/PEXPIREAT
  node.run({"RPUSH", "list", "after"});
  ASSERT_EQ(node.commit(), Aof::Status::kOk);
  EXPECT_EQ(reboot(dev.data()), node.state());
}

}  // namespace
}  // namespace kv
