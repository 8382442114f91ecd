// List commands: LPUSH, RPUSH, LPOP, RPOP, LRANGE, LLEN, LINDEX, with
// Redis 7's replies. A list that becomes empty is deleted, as in Redis.
#include <algorithm>

#include "command_handlers.h"
#include "numbers.h"
#include "resp.h"
#include "values.h"

namespace kv {

namespace {

using End = ListValue::End;

void push(CommandContext& c, End end) {
  auto e = find_typed(c, c.argv[1], ValueType::kList, Access::kWrite);
  if (!e) return;
  Entry* entry = *e ? *e : c.keys.add(c.argv[1], ValueType::kList);
  auto& list = entry->as<ListValue>();
  for (size_t i = 2; i < c.argc(); ++i) list.push(end, c.argv[i]);
  c.propagate_argv();
  reply::integer(c.out, static_cast<int64_t>(list.size()));
}

void pop(CommandContext& c, End end, std::string_view name) {
  if (c.argc() > 3) return reply_arity_error(c.out, name);
  int64_t count = 1;
  bool with_count = c.argc() == 3;
  if (with_count) {
    auto v = parse_int(c.argv[2]);
    if (!v || *v < 0) return reply::error(c.out, "ERR value is out of range, must be positive");
    count = *v;
  }
  auto e = find_typed(c, c.argv[1], ValueType::kList, Access::kWrite);
  if (!e) return;
  if (!*e) return with_count ? reply::null_array(c.out) : reply::null(c.out);
  auto& list = (*e)->as<ListValue>();
  size_t n = std::min<uint64_t>(static_cast<uint64_t>(count), list.size());
  if (with_count) reply::array(c.out, n);
  for (size_t i = 0; i < n; ++i) reply::bulk(c.out, list.pop(end));
  if (n > 0) c.propagate_argv();
  if (list.size() == 0) c.keys.erase(*e);
}

}  // namespace

bool clip_range(int64_t size, int64_t& start, int64_t& stop) {
  if (start < 0) start += size;
  if (stop < 0) stop += size;
  if (start < 0) start = 0;
  if (start > stop || start >= size) return false;
  if (stop >= size) stop = size - 1;
  return true;
}

void cmd_lpush(CommandContext& c) { push(c, End::kHead); }
void cmd_rpush(CommandContext& c) { push(c, End::kTail); }
void cmd_lpop(CommandContext& c) { pop(c, End::kHead, "lpop"); }
void cmd_rpop(CommandContext& c) { pop(c, End::kTail, "rpop"); }

void cmd_llen(CommandContext& c) {
  auto e = find_typed(c, c.argv[1], ValueType::kList, Access::kRead);
  if (e) reply::integer(c.out, *e ? static_cast<int64_t>((*e)->as<ListValue>().size()) : 0);
}

void cmd_lindex(CommandContext& c) {
  auto index = parse_int(c.argv[2]);
  if (!index) return reply_not_integer(c.out);
  auto e = find_typed(c, c.argv[1], ValueType::kList, Access::kRead);
  if (!e) return;
  if (!*e) return reply::null(c.out);
  const auto& list = (*e)->as<ListValue>();
  int64_t i = *index < 0 ? *index + static_cast<int64_t>(list.size()) : *index;
  if (i < 0 || i >= static_cast<int64_t>(list.size())) return reply::null(c.out);
  reply::bulk(c.out, list.at(static_cast<size_t>(i)));
}

void cmd_lrange(CommandContext& c) {
  auto start = parse_int(c.argv[2]), stop = parse_int(c.argv[3]);
  if (!start || !stop) return reply_not_integer(c.out);
  auto e = find_typed(c, c.argv[1], ValueType::kList, Access::kRead);
  if (!e) return;
  if (!*e) return reply::array(c.out, 0);
  const auto& list = (*e)->as<ListValue>();
  int64_t from = *start, to = *stop;
  if (!clip_range(static_cast<int64_t>(list.size()), from, to)) return reply::array(c.out, 0);
  reply::array(c.out, static_cast<size_t>(to - from + 1));
  for (int64_t i = from; i <= to && !c.out_full(); ++i) reply::bulk(c.out, list.at(static_cast<size_t>(i)));
}

}  // namespace kv
