// Sorted set commands: ZADD (NX, XX, GT, LT, CH, INCR), ZREM, ZRANGE by
// index (WITHSCORES), ZPOPMIN, ZSCORE, ZCARD, with Redis 7's replies.
// ZPOPMIN is logged as the ZREM of what it took. A sorted set that becomes
// empty is deleted.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <string_view>
#include <vector>

#include "command_handlers.h"
#include "numbers.h"
#include "resp.h"
#include "values.h"

namespace kv {

namespace {

constexpr unsigned kNx = 1, kXx = 2, kGt = 4, kLt = 8, kCh = 16, kIncr = 32;  // ZADD's options

std::optional<Entry*> find_zset(CommandContext& c, Access access) {
  return find_typed(c, c.argv[1], ValueType::kZSet, access);
}

void reply_not_float(std::string& out) { reply::error(out, "ERR value is not a valid float"); }

// ZADD's options from argv[2]; `first` is the first score's index.
bool parse_zadd_flags(CommandContext& c, unsigned& flags, size_t& first) {
  static constexpr struct { std::string_view name; unsigned bit; } kFlags[] = {
      {"nx", kNx}, {"xx", kXx}, {"gt", kGt}, {"lt", kLt}, {"ch", kCh}, {"incr", kIncr}};
  for (first = 2; first < c.argc(); ++first) {
    unsigned bit = 0;
    for (const auto& f : kFlags)
      if (equals_lower(c.argv[first], f.name)) bit = f.bit;
    if (!bit) break;
    flags |= bit;
  }
  if ((flags & kNx) && (flags & kXx)) {
    reply::error(c.out, "ERR XX and NX options at the same time are not compatible");
    return false;
  }
  if (((flags & kGt) && (flags & kLt)) || ((flags & kNx) && (flags & (kGt | kLt)))) {
    reply::error(c.out, "ERR GT, LT, and/or NX options at the same time are not compatible");
    return false;
  }
  size_t pairs = c.argc() - first;
  if (pairs == 0 || pairs % 2 != 0) {
    reply_syntax_error(c.out);
    return false;
  }
  if ((flags & kIncr) && pairs != 2) {
    reply::error(c.out, "ERR INCR option supports a single increment-element pair");
    return false;
  }
  return true;
}

}  // namespace

void cmd_zadd(CommandContext& c) {
  unsigned flags = 0;
  size_t first = 0;
  if (!parse_zadd_flags(c, flags, first)) return;
  std::vector<double> scores;
  for (size_t i = first; i < c.argc(); i += 2) {
    auto s = parse_double(c.argv[i]);
    if (!s) return reply_not_float(c.out);
    scores.push_back(*s);
  }
  auto e = find_zset(c, Access::kWrite);
  if (!e) return;
  if (!*e && (flags & kXx)) return (flags & kIncr) ? reply::null(c.out) : reply::integer(c.out, 0);
  ZSetValue& z = (*e ? *e : c.keys.add(c.argv[1], ValueType::kZSet))->as<ZSetValue>();
  int64_t added = 0, changed = 0;
  const double* result = nullptr;
  double incremented = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    const std::string& member = c.argv[first + 2 * i + 1];
    const double* old = z.score(member);
    double score = scores[i];
    if (flags & kIncr) score += old ? *old : 0;
    if (std::isnan(score)) {  // inf + -inf
      if (z.size() == 0) c.keys.erase(c.argv[1]);
      return reply::error(c.out, "ERR resulting score is not a number (NaN)");
    }
    if ((old && (flags & kNx)) || (!old && (flags & kXx)) || (old && (flags & kGt) && score <= *old) ||
        (old && (flags & kLt) && score >= *old))
      continue;
    if (!old) ++added;
    else if (*old != score) ++changed;
    z.set(member, score);
    incremented = score;
    result = &incremented;
  }
  if (added + changed > 0) c.propagate_argv();
  if (flags & kIncr) return result ? reply::bulk(c.out, double_to_string(*result)) : reply::null(c.out);
  reply::integer(c.out, (flags & kCh) ? added + changed : added);
}

void cmd_zrem(CommandContext& c) {
  auto e = find_zset(c, Access::kWrite);
  if (!e) return;
  int64_t n = 0;
  if (*e) {
    ZSetValue& z = (*e)->as<ZSetValue>();
    for (size_t i = 2; i < c.argc(); ++i) n += z.remove(c.argv[i]) ? 1 : 0;
    if (n > 0) c.propagate_argv();
    if (z.size() == 0) c.keys.erase(*e);
  }
  reply::integer(c.out, n);
}

void cmd_zrange(CommandContext& c) {
  bool scores = c.argc() == 5 && equals_lower(c.argv[4], "withscores");
  if (c.argc() > 5 || (c.argc() == 5 && !scores)) return reply_syntax_error(c.out);
  auto start = parse_int(c.argv[2]), stop = parse_int(c.argv[3]);
  if (!start || !stop) return reply_not_integer(c.out);
  auto e = find_zset(c, Access::kRead);
  if (!e) return;
  if (!*e) return reply::array(c.out, 0);
  const auto& order = (*e)->as<ZSetValue>().order();
  int64_t from = *start, to = *stop;
  if (!clip_range(static_cast<int64_t>(order.size()), from, to)) return reply::array(c.out, 0);
  reply::array(c.out, static_cast<size_t>(to - from + 1) * (scores ? 2 : 1));
  auto it = std::next(order.begin(), from);
  for (int64_t i = from; i <= to && !c.out_full(); ++i, ++it) {
    reply::bulk(c.out, it->second);
    if (scores) reply::bulk(c.out, double_to_string(it->first));
  }
}

void cmd_zpopmin(CommandContext& c) {
  if (c.argc() > 3) return reply_arity_error(c.out, "zpopmin");
  int64_t count = 1;
  if (c.argc() == 3) {
    auto v = parse_int(c.argv[2]);
    if (!v || *v < 0) return reply::error(c.out, "ERR value is out of range, must be positive");
    count = *v;
  }
  auto e = find_zset(c, Access::kWrite);
  if (!e) return;
  if (!*e) return reply::array(c.out, 0);
  ZSetValue& z = (*e)->as<ZSetValue>();
  size_t n = std::min<uint64_t>(static_cast<uint64_t>(count), z.size());
  reply::array(c.out, 2 * n);
  std::vector<std::string> log{"ZREM", c.argv[1]};
  for (size_t i = 0; i < n; ++i) {
    auto [score, member] = *z.order().begin();
    reply::bulk(c.out, member);
    reply::bulk(c.out, double_to_string(score));
    z.remove(member);
    log.push_back(std::move(member));
  }
  if (n > 0) c.propagate(log);
  if (z.size() == 0) c.keys.erase(*e);
}

void cmd_zscore(CommandContext& c) {
  auto e = find_zset(c, Access::kRead);
  if (!e) return;
  const double* s = *e ? (*e)->as<ZSetValue>().score(c.argv[2]) : nullptr;
  if (s) reply::bulk(c.out, double_to_string(*s));
  else reply::null(c.out);
}

void cmd_zcard(CommandContext& c) {
  auto e = find_zset(c, Access::kRead);
  if (e) reply::integer(c.out, *e ? static_cast<int64_t>((*e)->as<ZSetValue>().size()) : 0);
}

}  // namespace kv
