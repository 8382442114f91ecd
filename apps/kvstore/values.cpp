#include "values.h"

namespace kv {

void ListValue::push(End end, std::string_view item) {
  if (end == End::kHead) m_items.emplace_front(item);
  else m_items.emplace_back(item);
  m_bytes.add(item.size());
}

std::string ListValue::pop(End end) {
  std::string item = std::move(end == End::kHead ? m_items.front() : m_items.back());
  if (end == End::kHead) m_items.pop_front();
  else m_items.pop_back();
  m_bytes.sub(item.size());
  return item;
}

bool HashValue::set(std::string_view field, std::string_view value) {
  auto [it, added] = m_fields.try_emplace(std::string(field));
  if (added) m_bytes.add(field.size());
  m_bytes.sub(it->second.size());
  it->second.assign(value);
  m_bytes.add(value.size());
  return added;
}

const std::string* HashValue::get(std::string_view field) const {
  auto it = m_fields.find(std::string(field));
  return it == m_fields.end() ? nullptr : &it->second;
}

bool HashValue::del(std::string_view field) {
  auto it = m_fields.find(std::string(field));
  if (it == m_fields.end()) return false;
  m_bytes.sub(it->first.size() + it->second.size());
  m_fields.erase(it);
  return true;
}

bool SetValue::add(std::string_view member) {
  bool added = m_members.emplace(member).second;
  if (added) m_bytes.add(member.size());
  return added;
}

bool SetValue::remove(std::string_view member) {
  if (m_members.erase(std::string(member)) == 0) return false;
  m_bytes.sub(member.size());
  return true;
}

const std::string& SetValue::random_member(uint64_t random) const {
  // The first non-empty bucket from a random one, then a random member of
  // its chain: buckets are about as many as members, so the walk is short
  // (the table's maximum load factor is 1).
  size_t buckets = m_members.bucket_count();
  for (size_t b = random % buckets;; b = (b + 1) % buckets) {
    size_t n = m_members.bucket_size(b);
    if (n == 0) continue;
    auto it = m_members.begin(b);
    for (size_t skip = (random >> 32) % n; skip > 0; --skip) ++it;
    return *it;
  }
}

bool ZSetValue::set(std::string_view member, double score) {
  auto [it, added] = m_scores.try_emplace(std::string(member), score);
  if (added) {
    m_bytes.add(member.size() + sizeof(double));
  } else {
    if (it->second == score) return false;
    m_order.erase({it->second, it->first});
    it->second = score;
  }
  m_order.emplace(score, it->first);
  return added;
}

bool ZSetValue::remove(std::string_view member) {
  auto it = m_scores.find(std::string(member));
  if (it == m_scores.end()) return false;
  m_order.erase({it->second, it->first});
  m_bytes.sub(member.size() + sizeof(double));
  m_scores.erase(it);
  return true;
}

const double* ZSetValue::score(std::string_view member) const {
  auto it = m_scores.find(std::string(member));
  return it == m_scores.end() ? nullptr : &it->second;
}

void* make_value(ValueType type, uint64_t& live) {
  switch (type) {
    case ValueType::kList: return new ListValue(live);
    case ValueType::kHash: return new HashValue(live);
    case ValueType::kSet: return new SetValue(live);
    case ValueType::kZSet: return new ZSetValue(live);
    case ValueType::kString: break;
  }
  return nullptr;
}

void destroy_value(ValueType type, void* value) {
  switch (type) {
    case ValueType::kList: delete static_cast<ListValue*>(value); break;
    case ValueType::kHash: delete static_cast<HashValue*>(value); break;
    case ValueType::kSet: delete static_cast<SetValue*>(value); break;
    case ValueType::kZSet: delete static_cast<ZSetValue*>(value); break;
    case ValueType::kString: break;
  }
}

}  // namespace kv
