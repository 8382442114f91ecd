// The command handlers, by file: cmd_strings.cpp (string values),
// cmd_lists.cpp, cmd_hashes.cpp, cmd_sets.cpp, cmd_zsets.cpp (the aggregate
// types), cmd_keys.cpp (keys and expiry), cmd_server.cpp (connection and
// server), info.cpp (INFO). The table is in commands.cpp.
#pragma once

#include "commands.h"

namespace kv {

// cmd_strings.cpp
void cmd_get(CommandContext& c);
void cmd_set(CommandContext& c);
void cmd_setnx(CommandContext& c);
void cmd_setex(CommandContext& c);
void cmd_psetex(CommandContext& c);
void cmd_getset(CommandContext& c);
void cmd_getdel(CommandContext& c);
void cmd_append(CommandContext& c);
void cmd_strlen(CommandContext& c);
void cmd_incr(CommandContext& c);
void cmd_decr(CommandContext& c);
void cmd_incrby(CommandContext& c);
void cmd_decrby(CommandContext& c);
void cmd_mget(CommandContext& c);
void cmd_mset(CommandContext& c);

// cmd_keys.cpp
void cmd_del(CommandContext& c);
void cmd_exists(CommandContext& c);
void cmd_type(CommandContext& c);
void cmd_expire(CommandContext& c);
void cmd_pexpire(CommandContext& c);
void cmd_expireat(CommandContext& c);
void cmd_pexpireat(CommandContext& c);
void cmd_ttl(CommandContext& c);
void cmd_pttl(CommandContext& c);
void cmd_persist(CommandContext& c);
void cmd_keys(CommandContext& c);
void cmd_dbsize(CommandContext& c);
void cmd_flushall(CommandContext& c);

// cmd_server.cpp
void cmd_ping(CommandContext& c);
void cmd_echo(CommandContext& c);
void cmd_select(CommandContext& c);
void cmd_quit(CommandContext& c);
void cmd_command(CommandContext& c);
void cmd_config(CommandContext& c);
void cmd_client(CommandContext& c);

// cmd_lists.cpp
void cmd_lpush(CommandContext& c);
void cmd_rpush(CommandContext& c);
void cmd_lpop(CommandContext& c);
void cmd_rpop(CommandContext& c);
void cmd_llen(CommandContext& c);
void cmd_lindex(CommandContext& c);
void cmd_lrange(CommandContext& c);
// Redis's index rules for LRANGE and ZRANGE: negative indexes count from the
// end; the range is clipped to `size` elements. false when it is empty.
bool clip_range(int64_t size, int64_t& start, int64_t& stop);

// cmd_hashes.cpp
void cmd_hset(CommandContext& c);
void cmd_hmset(CommandContext& c);
void cmd_hget(CommandContext& c);
void cmd_hmget(CommandContext& c);
void cmd_hgetall(CommandContext& c);
void cmd_hdel(CommandContext& c);
void cmd_hlen(CommandContext& c);
void cmd_hexists(CommandContext& c);
void cmd_hincrby(CommandContext& c);

// cmd_sets.cpp
void cmd_sadd(CommandContext& c);
void cmd_srem(CommandContext& c);
void cmd_spop(CommandContext& c);
void cmd_smembers(CommandContext& c);
void cmd_scard(CommandContext& c);
void cmd_sismember(CommandContext& c);

// cmd_zsets.cpp
void cmd_zadd(CommandContext& c);
void cmd_zrem(CommandContext& c);
void cmd_zrange(CommandContext& c);
void cmd_zpopmin(CommandContext& c);
void cmd_zscore(CommandContext& c);
void cmd_zcard(CommandContext& c);

// info.cpp
void cmd_info(CommandContext& c);

}  // namespace kv
