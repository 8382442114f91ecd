// String commands: GET, SET and its relatives, APPEND, STRLEN, the counters,
// MGET and MSET, with Redis 7's reply and error texts.
#include <initializer_list>
#include <optional>
#include <string_view>

#include "command_handlers.h"
#include "numbers.h"
#include "resp.h"

namespace kv {

namespace {

using Args = std::initializer_list<std::string_view>;

// SET's options, as bits.
constexpr unsigned kNx = 1, kXx = 2, kGet = 4, kKeepTtl = 8, kEx = 16, kPx = 32, kExAt = 64, kPxAt = 128;
constexpr unsigned kAnyExpire = kEx | kPx | kExAt | kPxAt;

void reply_invalid_expire(std::string& out, std::string_view command) {
  std::string msg = "ERR invalid expire time in '";
  msg += command;
  msg += "' command";
  reply::error(out, msg);
}

// An expiry option's value as an absolute wall-clock time in ms, or the
// error reply (Redis's getExpireMillisecondsOrReply).
std::optional<int64_t> expire_time(CommandContext& c, std::string_view value, bool seconds, bool relative,
                                   std::string_view command) {
  auto v = parse_int(value);
  if (!v) {
    reply_not_integer(c.out);
    return std::nullopt;
  }
  int64_t ms = *v;
  if (ms <= 0 || (seconds && ms > INT64_MAX / 1000) ||
      (relative && (seconds ? ms * 1000 : ms) > INT64_MAX - c.now_ms)) {
    reply_invalid_expire(c.out, command);
    return std::nullopt;
  }
  if (seconds) ms *= 1000;
  return relative ? ms + c.now_ms : ms;
}

bool parse_set_options(CommandContext& c, unsigned& flags, int64_t& expire_at) {
  std::string_view expire;
  for (size_t j = 3; j < c.argc(); ++j) {
    const std::string& o = c.argv[j];
    bool next = j + 1 < c.argc();
    unsigned unit = equals_lower(o, "ex") ? kEx : equals_lower(o, "px") ? kPx
                  : equals_lower(o, "exat") ? kExAt : equals_lower(o, "pxat") ? kPxAt : 0;
    if (equals_lower(o, "nx") && !(flags & kXx)) {
      flags |= kNx;
    } else if (equals_lower(o, "xx") && !(flags & kNx)) {
      flags |= kXx;
    } else if (equals_lower(o, "get")) {
      flags |= kGet;
    } else if (equals_lower(o, "keepttl") && !(flags & kAnyExpire)) {
      flags |= kKeepTtl;
    } else if (unit && !(flags & kKeepTtl) && !(flags & kAnyExpire & ~unit) && next) {
      flags |= unit;
      expire = c.argv[++j];
    } else {
      reply_syntax_error(c.out);
      return false;
    }
  }
  if (!(flags & kAnyExpire)) return true;
  auto at = expire_time(c, expire, (flags & (kEx | kExAt)) != 0, (flags & (kEx | kPx)) != 0, "set");
  if (at) expire_at = *at;
  return at.has_value();
}

void set_generic(CommandContext& c, unsigned flags, const std::string& key, std::string_view value, int64_t expire_at) {
  // SET replaces a value of any type; only its GET option reads the old one.
  Entry* old = (flags & kGet) ? c.keys.find_read(key, c.now_ms) : c.keys.find(key, c.now_ms);
  if (flags & kGet) {
    if (old && old->type() != ValueType::kString) return reply_wrong_type(c.out);
    if (old) reply::bulk(c.out, old->str());
    else reply::null(c.out);
  }
  if (((flags & kNx) && old) || ((flags & kXx) && !old)) {
    if (!(flags & kGet)) reply::null(c.out);
    return;
  }
  if (expire_at != kNoExpiry) c.propagate(Args{"SET", key, value, "PXAT", int_to_string(expire_at)});
  else if (flags & kKeepTtl) c.propagate(Args{"SET", key, value, "KEEPTTL"});
  else c.propagate(Args{"SET", key, value});
  auto ttl = (flags & kKeepTtl) ? Keyspace::Ttl::kKeep : Keyspace::Ttl::kReplace;
  c.keys.set(key, value, expire_at, c.now_ms, ttl);
  if (!(flags & kGet)) reply::ok(c.out);
}

void incr_by(CommandContext& c, int64_t by) {
  const std::string& key = c.argv[1];
  auto e = find_typed(c, key, ValueType::kString, Access::kWrite);
  if (!e) return;
  int64_t v = 0;
  if (*e) {
    auto parsed = parse_int((*e)->str());
    if (!parsed) return reply_not_integer(c.out);
    v = *parsed;
  }
  if ((by < 0 && v < 0 && by < INT64_MIN - v) || (by > 0 && v > 0 && by > INT64_MAX - v))
    return reply::error(c.out, "ERR increment or decrement would overflow");
  v += by;
  if (*e) c.keys.replace_value(*e, int_to_string(v));  // keeps the key's TTL, as Redis does
  else c.keys.set(key, int_to_string(v), kNoExpiry, c.now_ms);
  c.propagate_argv();
  reply::integer(c.out, v);
}

}  // namespace

void cmd_get(CommandContext& c) {
  auto e = find_typed(c, c.argv[1], ValueType::kString, Access::kRead);
  if (!e) return;
  if (*e) reply::bulk(c.out, (*e)->str());
  else reply::null(c.out);
}

void cmd_set(CommandContext& c) {
  unsigned flags = 0;
  int64_t expire_at = kNoExpiry;
  if (parse_set_options(c, flags, expire_at)) set_generic(c, flags, c.argv[1], c.argv[2], expire_at);
}

void cmd_setnx(CommandContext& c) {
  if (c.keys.find(c.argv[1], c.now_ms)) return reply::integer(c.out, 0);
  c.propagate(Args{"SET", c.argv[1], c.argv[2]});
  c.keys.set(c.argv[1], c.argv[2], kNoExpiry, c.now_ms);
  reply::integer(c.out, 1);
}

void cmd_setex(CommandContext& c) {
  auto at = expire_time(c, c.argv[2], true, true, "setex");
  if (at) set_generic(c, 0, c.argv[1], c.argv[3], *at);
}

void cmd_psetex(CommandContext& c) {
  auto at = expire_time(c, c.argv[2], false, true, "psetex");
  if (at) set_generic(c, 0, c.argv[1], c.argv[3], *at);
}

void cmd_getset(CommandContext& c) { set_generic(c, kGet, c.argv[1], c.argv[2], kNoExpiry); }

void cmd_getdel(CommandContext& c) {
  auto e = find_typed(c, c.argv[1], ValueType::kString, Access::kRead);
  if (!e) return;
  if (!*e) return reply::null(c.out);
  reply::bulk(c.out, (*e)->str());
  c.propagate(Args{"DEL", c.argv[1]});
  c.keys.erase(*e);
}

void cmd_append(CommandContext& c) {
  auto e = find_typed(c, c.argv[1], ValueType::kString, Access::kWrite);
  if (!e) return;
  c.propagate_argv();
  if (*e) {
    Entry* grown = c.keys.append_value(*e, c.argv[2]);
    return reply::integer(c.out, static_cast<int64_t>(grown->str().size()));
  }
  reply::integer(c.out, static_cast<int64_t>(c.argv[2].size()));
  c.keys.set(c.argv[1], c.argv[2], kNoExpiry, c.now_ms);
}

void cmd_strlen(CommandContext& c) {
  auto e = find_typed(c, c.argv[1], ValueType::kString, Access::kRead);
  if (e) reply::integer(c.out, *e ? static_cast<int64_t>((*e)->str().size()) : 0);
}

void cmd_incr(CommandContext& c) { incr_by(c, 1); }
void cmd_decr(CommandContext& c) { incr_by(c, -1); }

void cmd_incrby(CommandContext& c) {
  auto by = parse_int(c.argv[2]);
  if (!by) return reply_not_integer(c.out);
  incr_by(c, *by);
}

void cmd_decrby(CommandContext& c) {
  auto by = parse_int(c.argv[2]);
  if (!by) return reply_not_integer(c.out);
  if (*by == INT64_MIN) return reply::error(c.out, "ERR decrement would overflow");
  incr_by(c, -*by);
}

void cmd_mget(CommandContext& c) {
  reply::array(c.out, c.argc() - 1);
  for (size_t i = 1; i < c.argc() && !c.out_full(); ++i) {
    Entry* e = c.keys.find_read(c.argv[i], c.now_ms);
    if (e && e->type() == ValueType::kString) reply::bulk(c.out, e->str());
    else reply::null(c.out);  // MGET answers nil for a key of another type
  }
}

void cmd_mset(CommandContext& c) {
  if (c.argc() % 2 == 0) return reply_arity_error(c.out, "mset");
  c.propagate_argv();
  for (size_t i = 1; i < c.argc(); i += 2) c.keys.set(c.argv[i], c.argv[i + 1], kNoExpiry, c.now_ms);
  reply::ok(c.out);
}

}  // namespace kv
