// Connection and server commands: PING, ECHO, SELECT, QUIT, and enough of
// COMMAND, CONFIG and CLIENT for redis-cli, redis-benchmark and the usual
// client libraries.
#include <initializer_list>
#include <iterator>
#include <string_view>

#include "command_handlers.h"
#include "glob.h"
#include "memory.h"
#include "numbers.h"
#include "resp.h"

namespace kv {

namespace {

void reply_unknown_subcommand(CommandContext& c, std::string_view container) {
  std::string msg = "ERR unknown subcommand '";
  msg.append(c.argv[1], 0, 128);
  msg += "'. Try ";
  msg += container;
  msg += " HELP.";
  reply::error(c.out, msg);
}

// Checks a subcommand's arity, replying "... for 'config|get' command" if wrong.
bool sub_arity(CommandContext& c, std::string_view full_name, int arity) {
  size_t n = c.argc();
  bool ok = arity > 0 ? n == static_cast<size_t>(arity) : n >= static_cast<size_t>(-arity);
  if (!ok) reply_arity_error(c.out, full_name);
  return ok;
}

void reply_help(CommandContext& c, std::initializer_list<std::string_view> lines) {
  reply::array(c.out, lines.size());
  for (std::string_view line : lines) reply::simple(c.out, line);
}

struct ConfigParam {
  std::string_view name;
  std::string (*value)(const CommandContext&);
};

constexpr ConfigParam kConfigParams[] = {
    {"appendonly", [](const CommandContext& c) { return std::string(c.config.aof ? "yes" : "no"); }},
    {"appendfsync", [](const CommandContext& c) { return std::string(fsync_policy_name(c.config.fsync)); }},
    {"save", [](const CommandContext&) { return std::string(); }},
    {"port", [](const CommandContext& c) { return int_to_string(c.config.port); }},
    {"bind", [](const CommandContext& c) { return c.config.addr; }},
    {"databases", [](const CommandContext&) { return std::string("1"); }},
    {"maxclients", [](const CommandContext& c) { return int_to_string(static_cast<int64_t>(c.config.max_clients)); }},
    {"proto-max-bulk-len", [](const CommandContext& c) { return int_to_string(static_cast<int64_t>(c.config.max_bulk)); }},
    {"maxmemory", [](const CommandContext& c) { return int_to_string(static_cast<int64_t>(c.keys.limit().maxmemory)); }},
    {"maxmemory-policy", [](const CommandContext& c) { return std::string(eviction_policy_name(c.keys.limit().policy)); }},
    {"maxmemory-samples", [](const CommandContext& c) { return int_to_string(c.keys.limit().samples); }},
};

void config_get(CommandContext& c) {
  bool matched[std::size(kConfigParams)] = {};
  size_t n = 0;
  for (size_t i = 2; i < c.argc(); ++i) {
    for (size_t p = 0; p < std::size(kConfigParams); ++p) {
      if (!matched[p] && glob_match(c.argv[i], kConfigParams[p].name, GlobCase::kInsensitive)) {
        matched[p] = true;
        ++n;
      }
    }
  }
  reply::array(c.out, 2 * n);
  for (size_t p = 0; p < std::size(kConfigParams); ++p) {
    if (!matched[p]) continue;
    reply::bulk(c.out, kConfigParams[p].name);
    reply::bulk(c.out, kConfigParams[p].value(c));
  }
}

// CONFIG SET name value [name value ...]: the maxmemory settings, all or
// none applied, with Redis's error texts.
void config_set(CommandContext& c) {
  if (c.argc() % 2 != 0) return reply_arity_error(c.out, "config|set");
  MemoryLimit limit = c.keys.limit();
  for (size_t i = 2; i < c.argc(); i += 2) {
    const std::string& name = c.argv[i];
    const std::string& value = c.argv[i + 1];
    auto fail = [&](std::string_view why) {
      reply::error(c.out, "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + std::string(why));
    };
    if (equals_lower(name, "maxmemory")) {
      auto v = mem::parse_memory(value);
      if (!v) return fail("argument must be a memory value");
      limit.maxmemory = *v;
    } else if (equals_lower(name, "maxmemory-policy")) {
      if (!parse_eviction_policy(value, limit.policy)) return fail("argument(s) must be one of the following: "
          "noeviction, allkeys-lru, volatile-lru, allkeys-random, volatile-random, volatile-ttl");
    } else if (equals_lower(name, "maxmemory-samples")) {
      auto v = parse_int(value);
      if (!v || *v < 1 || *v > 64) return fail("argument must be between 1 and 64 inclusive");
      limit.samples = static_cast<unsigned>(*v);
    } else {
      return reply::error(c.out, "ERR Unknown option or number of arguments for CONFIG SET - '" + name + "'");
    }
  }
  c.keys.set_limit(limit);
  c.keys.make_room();  // as Redis: a lower limit evicts at once
  reply::ok(c.out);
}

bool valid_client_name(std::string_view name) {
  for (char ch : name)
    if (ch < '!' || ch > '~') return false;
  return true;
}

}  // namespace

void cmd_ping(CommandContext& c) {
  if (c.argc() > 2) return reply_arity_error(c.out, "ping");
  if (c.argc() == 2) return reply::bulk(c.out, c.argv[1]);
  reply::simple(c.out, "PONG");
}

void cmd_echo(CommandContext& c) { reply::bulk(c.out, c.argv[1]); }

void cmd_select(CommandContext& c) {
  auto db = parse_int(c.argv[1]);
  if (!db || *db < INT32_MIN || *db > INT32_MAX) return reply_not_integer(c.out);
  if (*db != 0) return reply::error(c.out, "ERR DB index is out of range");
  reply::ok(c.out);
}

void cmd_quit(CommandContext& c) {
  reply::ok(c.out);
  c.client.close_after_reply = true;
}

void cmd_command(CommandContext& c) {
  if (c.argc() == 1) return reply::array(c.out, 0);  // enough for redis-cli and redis-benchmark
  const std::string& sub = c.argv[1];
  if (equals_lower(sub, "count")) {
    if (sub_arity(c, "command|count", 2)) reply::integer(c.out, static_cast<int64_t>(command_count()));
  } else if (equals_lower(sub, "docs") || equals_lower(sub, "info") || equals_lower(sub, "list")) {
    reply::array(c.out, 0);
  } else if (equals_lower(sub, "help")) {
    reply_help(c, {"COMMAND [COUNT|DOCS|INFO|LIST]", "    kvstore answers with an empty list."});
  } else {
    reply_unknown_subcommand(c, "COMMAND");
  }
}

void cmd_config(CommandContext& c) {
  const std::string& sub = c.argv[1];
  if (equals_lower(sub, "get")) {
    if (sub_arity(c, "config|get", -3)) config_get(c);
  } else if (equals_lower(sub, "set")) {
    if (sub_arity(c, "config|set", -4)) config_set(c);
  } else if (equals_lower(sub, "resetstat")) {
    if (sub_arity(c, "config|resetstat", 2)) reply::ok(c.out);
  } else if (equals_lower(sub, "rewrite")) {
    if (sub_arity(c, "config|rewrite", 2)) reply::error(c.out, "ERR The server is running without a config file");
  } else if (equals_lower(sub, "help")) {
    reply_help(c, {"CONFIG GET <pattern> [<pattern> ...]", "    Return parameters matching the glob-like patterns."});
  } else {
    reply_unknown_subcommand(c, "CONFIG");
  }
}

void cmd_client(CommandContext& c) {
  const std::string& sub = c.argv[1];
  if (equals_lower(sub, "setname")) {
    if (!sub_arity(c, "client|setname", 3)) return;
    if (!valid_client_name(c.argv[2]))
      return reply::error(c.out, "ERR Client names cannot contain spaces, newlines or special characters.");
    c.client.name = c.argv[2];
    reply::ok(c.out);
  } else if (equals_lower(sub, "getname")) {
    if (!sub_arity(c, "client|getname", 2)) return;
    if (c.client.name.empty()) reply::null(c.out);
    else reply::bulk(c.out, c.client.name);
  } else if (equals_lower(sub, "id")) {
    if (sub_arity(c, "client|id", 2)) reply::integer(c.out, static_cast<int64_t>(c.client.id));
  } else if (equals_lower(sub, "setinfo")) {  // Redis 7.2 clients announce themselves; accept it
    if (sub_arity(c, "client|setinfo", 4)) reply::ok(c.out);
  } else if (equals_lower(sub, "help")) {
    reply_help(c, {"CLIENT SETNAME <name>", "CLIENT GETNAME", "CLIENT ID"});
  } else {
    reply_unknown_subcommand(c, "CLIENT");
  }
}

}  // namespace kv
