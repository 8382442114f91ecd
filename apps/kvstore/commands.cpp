#include "commands.h"

#include <algorithm>
#include <array>

#include "command_handlers.h"
#include "memory.h"
#include "resp.h"
#include "timeutil.h"

namespace kv {

namespace {

constexpr uint8_t kW = kWrite;
constexpr uint8_t kWM = kWrite | kDenyOom;
constexpr uint8_t kWS = kWrite | kShrinks;

// Sorted by name, for binary search; checked below.
constexpr std::array kCommands = {
    CommandSpec{"append", cmd_append, 3, kWM}, CommandSpec{"client", cmd_client, -2, 0},
    CommandSpec{"command", cmd_command, -1, 0}, CommandSpec{"config", cmd_config, -2, 0},
    CommandSpec{"dbsize", cmd_dbsize, 1, 0}, CommandSpec{"decr", cmd_decr, 2, kWM},
    CommandSpec{"decrby", cmd_decrby, 3, kWM}, CommandSpec{"del", cmd_del, -2, kWS},
    CommandSpec{"echo", cmd_echo, 2, 0}, CommandSpec{"exists", cmd_exists, -2, 0},
    CommandSpec{"expire", cmd_expire, -3, kW}, CommandSpec{"expireat", cmd_expireat, -3, kW},
    CommandSpec{"flushall", cmd_flushall, -1, kWS}, CommandSpec{"flushdb", cmd_flushall, -1, kWS},
    CommandSpec{"get", cmd_get, 2, 0}, CommandSpec{"getdel", cmd_getdel, 2, kWS},
    CommandSpec{"getset", cmd_getset, 3, kWM}, CommandSpec{"hdel", cmd_hdel, -3, kW},
    CommandSpec{"hexists", cmd_hexists, 3, 0}, CommandSpec{"hget", cmd_hget, 3, 0},
    CommandSpec{"hgetall", cmd_hgetall, 2, 0}, CommandSpec{"hincrby", cmd_hincrby, 4, kWM},
    CommandSpec{"hlen", cmd_hlen, 2, 0}, CommandSpec{"hmget", cmd_hmget, -3, 0},
    CommandSpec{"hmset", cmd_hmset, -4, kWM}, CommandSpec{"hset", cmd_hset, -4, kWM},
    CommandSpec{"incr", cmd_incr, 2, kWM}, CommandSpec{"incrby", cmd_incrby, 3, kWM},
    CommandSpec{"info", cmd_info, -1, 0}, CommandSpec{"keys", cmd_keys, 2, 0},
    CommandSpec{"lindex", cmd_lindex, 3, 0}, CommandSpec{"llen", cmd_llen, 2, 0},
    CommandSpec{"lpop", cmd_lpop, -2, kW}, CommandSpec{"lpush", cmd_lpush, -3, kWM},
    CommandSpec{"lrange", cmd_lrange, 4, 0}, CommandSpec{"mget", cmd_mget, -2, 0},
    CommandSpec{"mset", cmd_mset, -3, kWM}, CommandSpec{"persist", cmd_persist, 2, kW},
    CommandSpec{"pexpire", cmd_pexpire, -3, kW}, CommandSpec{"pexpireat", cmd_pexpireat, -3, kW},
    CommandSpec{"ping", cmd_ping, -1, 0}, CommandSpec{"psetex", cmd_psetex, 4, kWM},
    CommandSpec{"pttl", cmd_pttl, 2, 0}, CommandSpec{"quit", cmd_quit, -1, 0},
    CommandSpec{"rpop", cmd_rpop, -2, kW}, CommandSpec{"rpush", cmd_rpush, -3, kWM},
    CommandSpec{"sadd", cmd_sadd, -3, kWM}, CommandSpec{"scard", cmd_scard, 2, 0},
    CommandSpec{"select", cmd_select, 2, 0}, CommandSpec{"set", cmd_set, -3, kWM},
    CommandSpec{"setex", cmd_setex, 4, kWM}, CommandSpec{"setnx", cmd_setnx, 3, kWM},
    CommandSpec{"sismember", cmd_sismember, 3, 0}, CommandSpec{"smembers", cmd_smembers, 2, 0},
    CommandSpec{"spop", cmd_spop, -2, kW}, CommandSpec{"srem", cmd_srem, -3, kW},
    CommandSpec{"strlen", cmd_strlen, 2, 0}, CommandSpec{"ttl", cmd_ttl, 2, 0},
    CommandSpec{"type", cmd_type, 2, 0}, CommandSpec{"zadd", cmd_zadd, -4, kWM},
    CommandSpec{"zcard", cmd_zcard, 2, 0}, CommandSpec{"zpopmin", cmd_zpopmin, -2, kW},
    CommandSpec{"zrange", cmd_zrange, -4, 0}, CommandSpec{"zrem", cmd_zrem, -3, kW},
    CommandSpec{"zscore", cmd_zscore, 3, 0},
};

static_assert(std::is_sorted(kCommands.begin(), kCommands.end(),
                             [](const CommandSpec& a, const CommandSpec& b) { return a.name < b.name; }));

bool arity_ok(const CommandSpec& spec, size_t argc) {
  return spec.arity > 0 ? argc == static_cast<size_t>(spec.arity) : argc >= static_cast<size_t>(-spec.arity);
}

void reply_unknown_command(std::string& out, const std::vector<std::string>& argv) {
  std::string msg = "ERR unknown command '";
  msg.append(argv[0], 0, 128);
  msg += "', with args beginning with: ";
  std::string args;
  for (size_t i = 1; i < argv.size() && args.size() < 128; ++i) {
    size_t room = 128 - args.size();
    args += '\'';
    args.append(argv[i], 0, room);
    args += "' ";
  }
  reply::error(out, msg + args);
}

// Bytes a command's log record can take at most (SET's expiry option is
// rewritten to PXAT with 13 or so digits).
size_t log_bound(const std::vector<std::string>& argv) {
  size_t n = logfmt::kHeaderSize + 64;
  for (const auto& a : argv) n += a.size() + 16;
  return n;
}

}  // namespace

const CommandSpec* find_command(std::string_view name) {
  char lower[16];
  if (name.size() > sizeof lower) return nullptr;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
  }
  std::string_view key(lower, name.size());
  auto it = std::lower_bound(kCommands.begin(), kCommands.end(), key,
                             [](const CommandSpec& s, std::string_view k) { return s.name < k; });
  return it != kCommands.end() && it->name == key ? &*it : nullptr;
}

size_t command_count() { return kCommands.size(); }

void reply_arity_error(std::string& out, std::string_view name) {
  std::string msg = "ERR wrong number of arguments for '";
  msg += name;
  msg += "' command";
  reply::error(out, msg);
}

void reply_not_integer(std::string& out) { reply::error(out, "ERR value is not an integer or out of range"); }

void reply_syntax_error(std::string& out) { reply::error(out, "ERR syntax error"); }

void reply_wrong_type(std::string& out) {
  reply::error(out, "WRONGTYPE Operation against a key holding the wrong kind of value");
}

std::optional<Entry*> find_typed(CommandContext& c, std::string_view key, ValueType type, Access access) {
  Entry* e = access == Access::kRead ? c.keys.find_read(key, c.now_ms) : c.keys.find(key, c.now_ms);
  if (e && e->type() != type) {
    reply_wrong_type(c.out);
    return std::nullopt;
  }
  return e;
}

Dispatcher::Dispatcher(Keyspace& keys, const Config& config, ServerStats& stats)
    : m_keys(keys), m_config(config), m_stats(stats) {}

void Dispatcher::attach_log(Aof* aof) {
  m_aof = aof;
  m_keys.set_listener(aof ? this : nullptr);
}

void Dispatcher::execute(ClientState& client, std::vector<std::string>& argv, std::string& out, int64_t now_ms) {
  const CommandSpec* spec = find_command(argv[0]);
  if (!spec) return reply_unknown_command(out, argv);
  if (!arity_ok(*spec, argv.size())) return reply_arity_error(out, spec->name);
  // As Redis: evict before any command while over maxmemory; refuse a
  // command that may grow memory when that cannot get under it.
  if (m_keys.over_limit() && !m_keys.make_room() && (spec->flags & kDenyOom))
    return reply::error(out, kOomError);
  if ((spec->flags & kWrite) && m_aof) {
    auto room = (spec->flags & kShrinks) ? Aof::Room::kShrinking : Aof::Room::kNormal;
    if (!m_aof->reserve(log_bound(argv), room, m_keys, now_ms))
      return reply::error(out, "OOM command not allowed when the append-only log is full");
  }
  uint64_t out_limit = mem::client_buffer_limit(m_keys.limit().maxmemory);
  CommandContext ctx{m_keys, m_config, m_stats, m_aof, client, argv, out, now_ms, out_limit};
  spec->handler(ctx);
  ++m_stats.total_commands;
}

void Dispatcher::apply(std::vector<std::string>& argv) {
  const CommandSpec* spec = argv.empty() ? nullptr : find_command(argv[0]);
  if (!spec || !(spec->flags & kWrite) || !arity_ok(*spec, argv.size())) return;  // a log holds writes only
  m_replay_out.clear();
  CommandContext ctx{m_keys, m_config, m_stats, nullptr, m_replay_client, argv, m_replay_out, realtime_ms(), UINT64_MAX};
  spec->handler(ctx);
}

uint64_t Dispatcher::log_buffer_bytes() const { return m_aof ? m_aof->buffer_bytes() : 0; }

void Dispatcher::on_removed(std::string_view key) {
  if (m_aof) m_aof->append_expired(key);
}

}  // namespace kv
