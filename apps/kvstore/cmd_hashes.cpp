// Hash commands: HSET (and HMSET), HGET, HMGET, HGETALL, HDEL, HLEN,
// HEXISTS, HINCRBY, with Redis 7's replies. A hash that becomes empty is
// deleted.
#include "command_handlers.h"
#include "numbers.h"
#include "resp.h"
#include "values.h"

namespace kv {

namespace {

std::optional<Entry*> find_hash(CommandContext& c, Access access) {
  return find_typed(c, c.argv[1], ValueType::kHash, access);
}

HashValue& hash_for_write(CommandContext& c, Entry* e) {
  return (e ? e : c.keys.add(c.argv[1], ValueType::kHash))->as<HashValue>();
}

void hset_generic(CommandContext& c, std::string_view name, bool reply_ok) {
  if (c.argc() % 2 != 0) return reply_arity_error(c.out, name);
  auto e = find_hash(c, Access::kWrite);
  if (!e) return;
  HashValue& hash = hash_for_write(c, *e);
  int64_t added = 0;
  for (size_t i = 2; i < c.argc(); i += 2) added += hash.set(c.argv[i], c.argv[i + 1]) ? 1 : 0;
  c.propagate_argv();
  if (reply_ok) reply::ok(c.out);
  else reply::integer(c.out, added);
}

}  // namespace

void cmd_hset(CommandContext& c) { hset_generic(c, "hset", false); }
void cmd_hmset(CommandContext& c) { hset_generic(c, "hmset", true); }

void cmd_hget(CommandContext& c) {
  auto e = find_hash(c, Access::kRead);
  if (!e) return;
  const std::string* v = *e ? (*e)->as<HashValue>().get(c.argv[2]) : nullptr;
  if (v) reply::bulk(c.out, *v);
  else reply::null(c.out);
}

void cmd_hmget(CommandContext& c) {
  auto e = find_hash(c, Access::kRead);
  if (!e) return;
  reply::array(c.out, c.argc() - 2);
  for (size_t i = 2; i < c.argc() && !c.out_full(); ++i) {
    const std::string* v = *e ? (*e)->as<HashValue>().get(c.argv[i]) : nullptr;
    if (v) reply::bulk(c.out, *v);
    else reply::null(c.out);
  }
}

void cmd_hgetall(CommandContext& c) {
  auto e = find_hash(c, Access::kRead);
  if (!e) return;
  if (!*e) return reply::array(c.out, 0);
  const auto& fields = (*e)->as<HashValue>().fields();
  reply::array(c.out, 2 * fields.size());
  for (const auto& [f, v] : fields) {
    if (c.out_full()) return;
    reply::bulk(c.out, f);
    reply::bulk(c.out, v);
  }
}

void cmd_hdel(CommandContext& c) {
  auto e = find_hash(c, Access::kWrite);
  if (!e) return;
  int64_t n = 0;
  if (*e) {
    HashValue& hash = (*e)->as<HashValue>();
    for (size_t i = 2; i < c.argc(); ++i) n += hash.del(c.argv[i]) ? 1 : 0;
    if (n > 0) c.propagate_argv();
    if (hash.size() == 0) c.keys.erase(*e);
  }
  reply::integer(c.out, n);
}

void cmd_hlen(CommandContext& c) {
  auto e = find_hash(c, Access::kRead);
  if (e) reply::integer(c.out, *e ? static_cast<int64_t>((*e)->as<HashValue>().size()) : 0);
}

void cmd_hexists(CommandContext& c) {
  auto e = find_hash(c, Access::kRead);
  if (e) reply::integer(c.out, *e && (*e)->as<HashValue>().get(c.argv[2]) ? 1 : 0);
}

void cmd_hincrby(CommandContext& c) {
  auto by = parse_int(c.argv[3]);
  if (!by) return reply_not_integer(c.out);
  auto e = find_hash(c, Access::kWrite);
  if (!e) return;
  int64_t v = 0;
  const std::string* old = *e ? (*e)->as<HashValue>().get(c.argv[2]) : nullptr;
  if (old) {
    auto parsed = parse_int(*old);
    if (!parsed) return reply::error(c.out, "ERR hash value is not an integer");
    v = *parsed;
  }
  if ((*by < 0 && v < 0 && *by < INT64_MIN - v) || (*by > 0 && v > 0 && *by > INT64_MAX - v))
    return reply::error(c.out, "ERR increment or decrement would overflow");
  v += *by;
  hash_for_write(c, *e).set(c.argv[2], int_to_string(v));
  c.propagate_argv();
  reply::integer(c.out, v);
}

}  // namespace kv
