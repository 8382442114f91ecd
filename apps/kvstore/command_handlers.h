// The command handlers, by file: cmd_strings.cpp (string values),
// cmd_keys.cpp (keys and expiry), cmd_server.cpp (connection and server),
// info.cpp (INFO). The table is in commands.cpp.
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

// info.cpp
void cmd_info(CommandContext& c);

}  // namespace kv
