// Command semantics and Redis's exact reply texts, through the dispatcher
// with a fixed clock (no sockets, no log).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "commands.h"
#include "dispatcher_fixture.h"

namespace kv {
namespace {

using test::kNow;

using Commands = test::DispatcherTest;

TEST_F(Commands, UnknownCommandAndArity) {
  EXPECT_EQ(run({"FOO"}), "-ERR unknown command 'FOO', with args beginning with: \r\n");
  EXPECT_EQ(run({"foo", "a", "b c"}), "-ERR unknown command 'foo', with args beginning with: 'a' 'b c' \r\n");
  std::string longer(200, 'x');
  std::string out = run({"nope", longer, "second"});
  EXPECT_EQ(out, "-ERR unknown command 'nope', with args beginning with: '" + std::string(128, 'x') + "' \r\n");
  EXPECT_EQ(run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run({"get", "a", "b"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(run({"SET", "k"}), "-ERR wrong number of arguments for 'set' command\r\n");
  EXPECT_EQ(run({"MSET", "a", "1", "b"}), "-ERR wrong number of arguments for 'mset' command\r\n");
  EXPECT_EQ(run({"PING", "a", "b"}), "-ERR wrong number of arguments for 'ping' command\r\n");
  EXPECT_EQ(run({"unknown\r\ncmd"}), "-ERR unknown command 'unknown  cmd', with args beginning with: \r\n");
}

TEST_F(Commands, PingEchoSelectQuit) {
  EXPECT_EQ(run({"ping"}), "+PONG\r\n");
  EXPECT_EQ(run({"PING", "hi"}), "$2\r\nhi\r\n");
  EXPECT_EQ(run({"ECHO", ""}), "$0\r\n\r\n");
  EXPECT_EQ(run({"SELECT", "0"}), "+OK\r\n");
  EXPECT_EQ(run({"SELECT", "1"}), "-ERR DB index is out of range\r\n");
  EXPECT_EQ(run({"SELECT", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_FALSE(client.close_after_reply);
  EXPECT_EQ(run({"QUIT"}), "+OK\r\n");
  EXPECT_TRUE(client.close_after_reply);
}

TEST_F(Commands, SetGetAndConditions) {
  EXPECT_EQ(run({"GET", "k"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(run({"GET", "k"}), "$1\r\nv\r\n");
  EXPECT_EQ(run({"SET", "k", "w", "NX"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "w", "XX"}), "+OK\r\n");
  EXPECT_EQ(run({"SET", "j", "w", "XX"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "x", "GET"}), "$1\r\nw\r\n");
  EXPECT_EQ(run({"SET", "new", "x", "GET"}), "$-1\r\n");
  EXPECT_EQ(run({"SET", "k", "y", "NX", "GET"}), "$1\r\nx\r\n");  // not set, old value returned
  EXPECT_EQ(run({"GET", "k"}), "$1\r\nx\r\n");
  EXPECT_EQ(run({"SETNX", "k", "z"}), ":0\r\n");
  EXPECT_EQ(run({"SETNX", "fresh", "z"}), ":1\r\n");
  EXPECT_EQ(run({"GETSET", "fresh", "q"}), "$1\r\nz\r\n");
  EXPECT_EQ(run({"GETDEL", "fresh"}), "$1\r\nq\r\n");
  EXPECT_EQ(run({"GETDEL", "fresh"}), "$-1\r\n");
  EXPECT_EQ(run({"APPEND", "s", "ab"}), ":2\r\n");
  EXPECT_EQ(run({"APPEND", "s", "cd"}), ":4\r\n");
  EXPECT_EQ(run({"STRLEN", "s"}), ":4\r\n");
  EXPECT_EQ(run({"STRLEN", "none"}), ":0\r\n");
  EXPECT_EQ(run({"TYPE", "s"}), "+string\r\n");
  EXPECT_EQ(run({"TYPE", "none"}), "+none\r\n");
}

TEST_F(Commands, SetOptionErrors) {
  EXPECT_EQ(run({"SET", "k", "v", "NX", "XX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10", "PX", "10"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10", "KEEPTTL"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "BOGUS"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "ten"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "0"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "PX", "-5"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "EX", "9223372036854775807"}), "-ERR invalid expire time in 'set' command\r\n");
  EXPECT_EQ(run({"SETEX", "k", "0", "v"}), "-ERR invalid expire time in 'setex' command\r\n");
  EXPECT_EQ(run({"PSETEX", "k", "x", "v"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run({"EXISTS", "k"}), ":0\r\n");
  EXPECT_EQ(run({"SET", "k", "v", "ex", "10", "ex", "20"}), "+OK\r\n");  // the last one wins, as in Redis
  EXPECT_EQ(run({"TTL", "k"}), ":20\r\n");
}

TEST_F(Commands, ExpiryOptionsAndTtl) {
  EXPECT_EQ(run({"SET", "ex", "v", "EX", "100"}), "+OK\r\n");
  EXPECT_EQ(run({"SET", "px", "v", "PX", "1500"}), "+OK\r\n");
  EXPECT_EQ(run({"SET", "exat", "v", "EXAT", std::to_string(kNow / 1000 + 50)}), "+OK\r\n");
  EXPECT_EQ(run({"SET", "pxat", "v", "PXAT", std::to_string(kNow + 2500)}), "+OK\r\n");
  EXPECT_EQ(run({"SETEX", "setex", "7", "v"}), "+OK\r\n");
  EXPECT_EQ(run({"TTL", "ex"}), ":100\r\n");
  EXPECT_EQ(run({"PTTL", "px"}), ":1500\r\n");
  EXPECT_EQ(run({"TTL", "px"}), ":2\r\n");  // rounded, as Redis: (1500 + 500) / 1000
  EXPECT_EQ(run({"TTL", "exat"}), ":50\r\n");
  EXPECT_EQ(run({"PTTL", "pxat"}), ":2500\r\n");
  EXPECT_EQ(run({"TTL", "setex"}), ":7\r\n");
  EXPECT_EQ(run({"TTL", "missing"}), ":-2\r\n");
  EXPECT_EQ(run({"SET", "plain", "v"}), "+OK\r\n");
  EXPECT_EQ(run({"TTL", "plain"}), ":-1\r\n");
  // A plain SET clears the TTL; KEEPTTL and INCR keep it.
  EXPECT_EQ(run({"SET", "ex", "w"}), "+OK\r\n");
  EXPECT_EQ(run({"TTL", "ex"}), ":-1\r\n");
  EXPECT_EQ(run({"SET", "px", "w", "KEEPTTL"}), "+OK\r\n");
  EXPECT_EQ(run({"PTTL", "px"}), ":1500\r\n");
  EXPECT_EQ(run({"SET", "n", "1", "EX", "30"}), "+OK\r\n");
  EXPECT_EQ(run({"INCR", "n"}), ":2\r\n");
  EXPECT_EQ(run({"TTL", "n"}), ":30\r\n");
  // The key is there at its expiry time and gone one ms later.
  EXPECT_EQ(run({"GET", "px"}, kNow + 1500), "$1\r\nw\r\n");
  EXPECT_EQ(run({"GET", "px"}, kNow + 1501), "$-1\r\n");
  EXPECT_EQ(run({"EXISTS", "pxat"}, kNow + 3000), ":0\r\n");
  EXPECT_EQ(run({"SET", "past", "v", "PXAT", "1"}), "+OK\r\n");
  EXPECT_EQ(run({"EXISTS", "past"}), ":0\r\n");
}

TEST_F(Commands, ExpireFamily) {
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"EXPIRE", "missing", "10"}), ":0\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "10", "XX"}), ":0\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "10", "GT"}), ":0\r\n");  // no TTL counts as infinite
  EXPECT_EQ(run({"EXPIRE", "k", "10", "NX"}), ":1\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "20", "NX"}), ":0\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "5", "GT"}), ":0\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "20", "GT"}), ":1\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "30", "LT"}), ":0\r\n");
  EXPECT_EQ(run({"PEXPIRE", "k", "15000", "LT"}), ":1\r\n");
  EXPECT_EQ(run({"PTTL", "k"}), ":15000\r\n");
  EXPECT_EQ(run({"EXPIREAT", "k", std::to_string(kNow / 1000 + 99)}), ":1\r\n");
  EXPECT_EQ(run({"TTL", "k"}), ":99\r\n");
  EXPECT_EQ(run({"PEXPIREAT", "k", std::to_string(kNow + 1234)}), ":1\r\n");
  EXPECT_EQ(run({"PTTL", "k"}), ":1234\r\n");
  EXPECT_EQ(run({"PERSIST", "k"}), ":1\r\n");
  EXPECT_EQ(run({"PERSIST", "k"}), ":0\r\n");
  EXPECT_EQ(run({"TTL", "k"}), ":-1\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "10", "NX", "XX"}),
            "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "10", "GT", "LT"}), "-ERR GT and LT options at the same time are not compatible\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "10", "YY"}), "-ERR Unsupported option YY\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "ten"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "9223372036854775807"}), "-ERR invalid expire time in 'expire' command\r\n");
  EXPECT_EQ(run({"EXPIRE", "k", "0"}), ":1\r\n");  // a time already past deletes the key
  EXPECT_EQ(run({"EXISTS", "k"}), ":0\r\n");
}

TEST_F(Commands, Counters) {
  EXPECT_EQ(run({"INCR", "c"}), ":1\r\n");
  EXPECT_EQ(run({"INCRBY", "c", "41"}), ":42\r\n");
  EXPECT_EQ(run({"DECR", "c"}), ":41\r\n");
  EXPECT_EQ(run({"DECRBY", "c", "-9"}), ":50\r\n");
  EXPECT_EQ(run({"GET", "c"}), "$2\r\n50\r\n");
  EXPECT_EQ(run({"INCRBY", "c", "x"}), "-ERR value is not an integer or out of range\r\n");
  EXPECT_EQ(run({"INCRBY", "c", "1.5"}), "-ERR value is not an integer or out of range\r\n");
  run({"SET", "s", "abc"});
  EXPECT_EQ(run({"INCR", "s"}), "-ERR value is not an integer or out of range\r\n");
  run({"SET", "s", " 1"});
  EXPECT_EQ(run({"INCR", "s"}), "-ERR value is not an integer or out of range\r\n");
  run({"SET", "s", "01"});
  EXPECT_EQ(run({"INCR", "s"}), "-ERR value is not an integer or out of range\r\n");
  run({"SET", "big", "9223372036854775807"});
  EXPECT_EQ(run({"INCR", "big"}), "-ERR increment or decrement would overflow\r\n");
  run({"SET", "small", "-9223372036854775808"});
  EXPECT_EQ(run({"DECR", "small"}), "-ERR increment or decrement would overflow\r\n");
  EXPECT_EQ(run({"DECRBY", "c", "-9223372036854775808"}), "-ERR decrement would overflow\r\n");
  EXPECT_EQ(run({"INCRBY", "fresh", "-9223372036854775808"}), ":-9223372036854775808\r\n");
}

TEST_F(Commands, MultiKey) {
  EXPECT_EQ(run({"MSET", "a", "1", "b", "2", "a", "3"}), "+OK\r\n");
  EXPECT_EQ(run({"MGET", "a", "b", "c"}), "*3\r\n$1\r\n3\r\n$1\r\n2\r\n$-1\r\n");
  EXPECT_EQ(run({"EXISTS", "a", "a", "c"}), ":2\r\n");
  EXPECT_EQ(run({"DBSIZE"}), ":2\r\n");
  EXPECT_EQ(run({"DEL", "a", "c", "b"}), ":2\r\n");
  EXPECT_EQ(run({"DBSIZE"}), ":0\r\n");
  run({"MSET", "x", "1", "y", "2"});
  EXPECT_EQ(run({"FLUSHALL", "BOGUS"}), "-ERR syntax error\r\n");
  EXPECT_EQ(run({"FLUSHDB", "ASYNC"}), "+OK\r\n");
  EXPECT_EQ(run({"DBSIZE"}), ":0\r\n");
}

TEST_F(Commands, KeysGlobAndExpiredKeysHidden) {
  run({"MSET", "user:1", "a", "user:2", "b", "user:10", "c", "other", "d"});
  run({"SET", "user:3", "e", "PX", "10"});
  auto sorted_keys = [&](const std::string& pattern, int64_t now) {
    std::string out = run({"KEYS", pattern}, now);
    std::vector<std::string> names;
    for (size_t at = out.find("\r\n") + 2; at < out.size();) {  // skip "*N"
      size_t len_end = out.find("\r\n", at);
      size_t len = std::stoul(out.substr(at + 1, len_end - at - 1));
      names.push_back(out.substr(len_end + 2, len));
      at = len_end + 2 + len + 2;
    }
    std::sort(names.begin(), names.end());
    return names;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(sorted_keys("user:?", kNow), (V{"user:1", "user:2", "user:3"}));
  EXPECT_EQ(sorted_keys("user:?", kNow + 100), (V{"user:1", "user:2"}));
  EXPECT_EQ(sorted_keys("user:[^1]*", kNow + 100), (V{"user:2"}));
  EXPECT_EQ(sorted_keys("*", kNow + 100), (V{"other", "user:1", "user:10", "user:2"}));
  EXPECT_EQ(run({"KEYS", "nomatch*"}), "*0\r\n");
}

TEST_F(Commands, ServerIntrospection) {
  EXPECT_EQ(run({"COMMAND"}), "*0\r\n");
  EXPECT_EQ(run({"COMMAND", "DOCS"}), "*0\r\n");
  EXPECT_EQ(run({"COMMAND", "nope"}), "-ERR unknown subcommand 'nope'. Try COMMAND HELP.\r\n");
  EXPECT_EQ(run({"CONFIG", "GET", "save"}), "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
  EXPECT_EQ(run({"CONFIG", "GET", "appendonly"}), "*2\r\n$10\r\nappendonly\r\n$3\r\nyes\r\n");
  EXPECT_EQ(run({"CONFIG", "GET", "nothing*"}), "*0\r\n");
  EXPECT_EQ(run({"CONFIG", "GET"}), "-ERR wrong number of arguments for 'config|get' command\r\n");
  EXPECT_EQ(run({"CONFIG"}), "-ERR wrong number of arguments for 'config' command\r\n");
  EXPECT_EQ(run({"CONFIG", "FOO"}), "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n");
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), "$-1\r\n");
  EXPECT_EQ(run({"CLIENT", "SETNAME", "worker-1"}), "+OK\r\n");
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), "$8\r\nworker-1\r\n");
  EXPECT_EQ(run({"CLIENT", "SETNAME", "has space"}),
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
  std::string info = run({"INFO"});
  for (const char* field : {"# Server\r\n", "atoll_kvstore_version:", "uptime_in_seconds:", "connected_clients:",
                            "used_memory:", "# Persistence\r\n", "aof_enabled:0", "total_commands_processed:",
                            "# Keyspace\r\n"}) {
    EXPECT_NE(info.find(field), std::string::npos) << field;
  }
  run({"SET", "a", "1", "EX", "100"});
  run({"SET", "b", "1"});
  info = run({"INFO", "keyspace"});
  EXPECT_EQ(info.substr(info.find("\r\n") + 2), "# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n\r\n");
}

TEST_F(Commands, ActiveExpiryRemovesKeysNobodyReads) {
  for (int i = 0; i < 1000; ++i) run({"SET", "t" + std::to_string(i), "v", "PX", "10"});
  for (int i = 0; i < 100; ++i) run({"SET", "keep" + std::to_string(i), "v"});
  EXPECT_EQ(keys.size(), 1100u);
  for (int pass = 0; pass < 200 && keys.size() > 100; ++pass) keys.active_expire_cycle(kNow + 20, 16);
  EXPECT_EQ(keys.size(), 100u);
  EXPECT_EQ(keys.expires(), 0u);
  EXPECT_EQ(keys.expired_keys(), 1000u);
}

}  // namespace
}  // namespace kv
