// Set commands: SADD, SREM, SPOP, SMEMBERS, SCARD, SISMEMBER, with Redis 7's
// replies. SPOP is logged as the SREM of the members it took, so replay does
// not depend on chance. A set that becomes empty is deleted.
#include <algorithm>
#include <string_view>
#include <vector>

#include "command_handlers.h"
#include "numbers.h"
#include "resp.h"
#include "values.h"

namespace kv {

namespace {

std::optional<Entry*> find_set(CommandContext& c, Access access) {
  return find_typed(c, c.argv[1], ValueType::kSet, access);
}

}  // namespace

void cmd_sadd(CommandContext& c) {
  auto e = find_set(c, Access::kWrite);
  if (!e) return;
  SetValue& set = (*e ? *e : c.keys.add(c.argv[1], ValueType::kSet))->as<SetValue>();
  int64_t added = 0;
  for (size_t i = 2; i < c.argc(); ++i) added += set.add(c.argv[i]) ? 1 : 0;
  c.propagate_argv();
  reply::integer(c.out, added);
}

void cmd_srem(CommandContext& c) {
  auto e = find_set(c, Access::kWrite);
  if (!e) return;
  int64_t n = 0;
  if (*e) {
    SetValue& set = (*e)->as<SetValue>();
    for (size_t i = 2; i < c.argc(); ++i) n += set.remove(c.argv[i]) ? 1 : 0;
    if (n > 0) c.propagate_argv();
    if (set.size() == 0) c.keys.erase(*e);
  }
  reply::integer(c.out, n);
}

void cmd_spop(CommandContext& c) {
  if (c.argc() > 3) return reply_arity_error(c.out, "spop");
  bool with_count = c.argc() == 3;
  int64_t count = 1;
  if (with_count) {
    auto v = parse_int(c.argv[2]);
    if (!v || *v < 0) return reply::error(c.out, "ERR value is out of range, must be positive");
    count = *v;
  }
  auto e = find_set(c, Access::kWrite);
  if (!e) return;
  if (!*e) return with_count ? reply::array(c.out, 0) : reply::null(c.out);
  SetValue& set = (*e)->as<SetValue>();
  size_t n = std::min<uint64_t>(static_cast<uint64_t>(count), set.size());
  std::vector<std::string> taken;
  taken.reserve(n);
  while (taken.size() < n) {
    taken.push_back(set.random_member(c.keys.random()));
    set.remove(taken.back());
  }
  if (with_count) reply::array(c.out, n);
  for (const auto& m : taken) reply::bulk(c.out, m);
  if (n > 0) {
    std::vector<std::string_view> log{"SREM", c.argv[1]};
    log.insert(log.end(), taken.begin(), taken.end());
    c.propagate(log);
  }
  if (set.size() == 0) c.keys.erase(*e);
}

void cmd_smembers(CommandContext& c) {
  auto e = find_set(c, Access::kRead);
  if (!e) return;
  if (!*e) return reply::array(c.out, 0);
  const auto& members = (*e)->as<SetValue>().members();
  reply::array(c.out, members.size());
  for (const auto& m : members) {
    if (c.out_full()) return;
    reply::bulk(c.out, m);
  }
}

void cmd_scard(CommandContext& c) {
  auto e = find_set(c, Access::kRead);
  if (e) reply::integer(c.out, *e ? static_cast<int64_t>((*e)->as<SetValue>().size()) : 0);
}

void cmd_sismember(CommandContext& c) {
  auto e = find_set(c, Access::kRead);
  if (e) reply::integer(c.out, *e && (*e)->as<SetValue>().contains(c.argv[2]) ? 1 : 0);
}

}  // namespace kv
