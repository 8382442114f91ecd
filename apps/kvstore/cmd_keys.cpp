// Key commands: DEL, EXISTS, TYPE, the EXPIRE family, TTL/PTTL, PERSIST,
// KEYS, DBSIZE, FLUSHALL/FLUSHDB.
#include <initializer_list>
#include <string_view>
#include <vector>

#include "command_handlers.h"
#include "glob.h"
#include "numbers.h"
#include "resp.h"

namespace kv {

namespace {

using Args = std::initializer_list<std::string_view>;

constexpr unsigned kNx = 1, kXx = 2, kGt = 4, kLt = 8;  // EXPIRE's options, as bits

bool refuse(std::string& out, std::string_view message) {
  reply::error(out, message);
  return false;
}

bool parse_expire_flags(CommandContext& c, unsigned& flags) {
  for (size_t j = 3; j < c.argc(); ++j) {
    const std::string& o = c.argv[j];
    if (equals_lower(o, "nx")) flags |= kNx;
    else if (equals_lower(o, "xx")) flags |= kXx;
    else if (equals_lower(o, "gt")) flags |= kGt;
    else if (equals_lower(o, "lt")) flags |= kLt;
    else return refuse(c.out, "ERR Unsupported option " + o);
  }
  if ((flags & kNx) && (flags & (kXx | kGt | kLt)))
    return refuse(c.out, "ERR NX and XX, GT or LT options at the same time are not compatible");
  if ((flags & kGt) && (flags & kLt)) return refuse(c.out, "ERR GT and LT options at the same time are not compatible");
  return true;
}

// Whether NX/XX/GT/LT let `when` replace `current` (kNoExpiry: none, which
// GT and LT treat as an infinite TTL).
bool expire_allowed(unsigned flags, int64_t current, int64_t when) {
  if ((flags & kNx) && current != kNoExpiry) return false;
  if ((flags & kXx) && current == kNoExpiry) return false;
  if ((flags & kGt) && (current == kNoExpiry || when <= current)) return false;
  if ((flags & kLt) && current != kNoExpiry && when >= current) return false;
  return true;
}

void expire_generic(CommandContext& c, bool seconds, bool relative, std::string_view name) {
  unsigned flags = 0;
  if (!parse_expire_flags(c, flags)) return;
  auto v = parse_int(c.argv[2]);
  if (!v) return reply_not_integer(c.out);
  int64_t when = *v;
  int64_t base = relative ? c.now_ms : 0;
  if ((seconds && (when > INT64_MAX / 1000 || when < INT64_MIN / 1000)) ||
      (seconds ? when * 1000 : when) > INT64_MAX - base) {
    return reply::error(c.out, "ERR invalid expire time in '" + std::string(name) + "' command");
  }
  when = (seconds ? when * 1000 : when) + base;
  const std::string& key = c.argv[1];
  Entry* e = c.keys.find(key, c.now_ms);
  if (!e || !expire_allowed(flags, e->expire_at(), when)) return reply::integer(c.out, 0);
  if (when <= c.now_ms) {  // a time already past deletes the key, as in Redis
    c.propagate(Args{"DEL", key});
    c.keys.erase(e);
  } else {
    c.propagate(Args{"PEXPIREAT", key, int_to_string(when)});
    c.keys.set_expire(e, when);
  }
  reply::integer(c.out, 1);
}

void ttl_generic(CommandContext& c, bool ms) {
  Entry* e = c.keys.find_read(c.argv[1], c.now_ms);
  if (!e) return reply::integer(c.out, -2);
  if (!e->has_expiry()) return reply::integer(c.out, -1);
  int64_t ttl = e->expire_at() - c.now_ms;
  if (ttl < 0) ttl = 0;
  reply::integer(c.out, ms ? ttl : (ttl + 500) / 1000);
}

}  // namespace

void cmd_del(CommandContext& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.argc(); ++i) {
    if (Entry* e = c.keys.find(c.argv[i], c.now_ms)) {
      c.keys.erase(e);
      ++n;
    }
  }
  if (n > 0) c.propagate_argv();
  reply::integer(c.out, n);
}

void cmd_exists(CommandContext& c) {
  int64_t n = 0;
  for (size_t i = 1; i < c.argc(); ++i) n += c.keys.find_read(c.argv[i], c.now_ms) ? 1 : 0;
  reply::integer(c.out, n);
}

void cmd_type(CommandContext& c) {
  Entry* e = c.keys.find_read(c.argv[1], c.now_ms);
  reply::simple(c.out, e ? type_name(e->type()) : "none");
}

void cmd_expire(CommandContext& c) { expire_generic(c, true, true, "expire"); }
void cmd_pexpire(CommandContext& c) { expire_generic(c, false, true, "pexpire"); }
void cmd_expireat(CommandContext& c) { expire_generic(c, true, false, "expireat"); }
void cmd_pexpireat(CommandContext& c) { expire_generic(c, false, false, "pexpireat"); }
void cmd_ttl(CommandContext& c) { ttl_generic(c, false); }
void cmd_pttl(CommandContext& c) { ttl_generic(c, true); }

void cmd_persist(CommandContext& c) {
  Entry* e = c.keys.find(c.argv[1], c.now_ms);
  bool removed = e && e->has_expiry();
  if (removed) {
    c.propagate_argv();
    c.keys.set_expire(e, kNoExpiry);
  }
  reply::integer(c.out, removed ? 1 : 0);
}

void cmd_keys(CommandContext& c) {
  const std::string& pattern = c.argv[1];
  bool all = pattern == "*";
  std::vector<const Entry*> found;
  bool full = false;
  c.keys.for_each([&](const Entry& e) {
    if (full || Keyspace::expired(e, c.now_ms)) return;  // skipped, not removed: KEYS is read-only
    if (all || glob_match(pattern, e.key())) found.push_back(&e);
    full = found.size() * sizeof(void*) > c.out_limit;
  });
  if (full) {
    c.client.output_overflow = true;
    return;
  }
  reply::array(c.out, found.size());
  for (size_t i = 0; i < found.size() && !c.out_full(); ++i) reply::bulk(c.out, found[i]->key());
}

void cmd_dbsize(CommandContext& c) { reply::integer(c.out, static_cast<int64_t>(c.keys.size())); }

void cmd_flushall(CommandContext& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !equals_lower(c.argv[1], "async") && !equals_lower(c.argv[1], "sync")))
    return reply_syntax_error(c.out);
  c.keys.clear();
  c.propagate(Args{"FLUSHALL"});
  reply::ok(c.out);
}

}  // namespace kv
