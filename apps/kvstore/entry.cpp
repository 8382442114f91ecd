#include "entry.h"

#include <new>

#include "values.h"

namespace kv {

const char* type_name(ValueType type) {
  switch (type) {
    case ValueType::kString: return "string";
    case ValueType::kList: return "list";
    case ValueType::kHash: return "hash";
    case ValueType::kSet: return "set";
    case ValueType::kZSet: return "zset";
  }
  return "none";
}

Entry* Entry::allocate(std::string_view key, size_t value_len, ValueType type, int64_t expire_at) {
  bool timed = expire_at != kNoExpiry;
  size_t size = sizeof(Entry) + (timed ? sizeof(Expiry) : 0) + key.size() + value_len;
  auto* e = static_cast<Entry*>(::operator new(size));
  e->m_key_len = static_cast<uint32_t>(key.size());
  e->m_val_len = static_cast<uint32_t>(value_len);
  e->m_lru = 0;
  e->m_type = static_cast<uint8_t>(type);
  e->m_flags = timed ? kHasExpiry : 0;
  e->m_unused = 0;
  if (timed) *e->expiry() = Expiry{expire_at, 0, 0};
  memcpy(e->key_data(), key.data(), key.size());
  return e;
}

Entry* Entry::make_string(std::string_view key, std::string_view value, int64_t expire_at) {
  Entry* e = allocate(key, value.size(), ValueType::kString, expire_at);
  memcpy(e->key_data() + key.size(), value.data(), value.size());
  return e;
}

Entry* Entry::make_object(std::string_view key, ValueType type, void* object, int64_t expire_at) {
  Entry* e = allocate(key, sizeof object, type, expire_at);
  memcpy(e->key_data() + key.size(), &object, sizeof object);
  return e;
}

void Entry::destroy(Entry* e) {
  if (e->type() != ValueType::kString) destroy_value(e->type(), e->object());
  ::operator delete(e);
}

Entry* Entry::copy_with_expiry(const Entry* e, int64_t expire_at) {
  Entry* copy = e->type() == ValueType::kString ? make_string(e->key(), e->str(), expire_at)
                                                : make_object(e->key(), e->type(), e->object(), expire_at);
  copy->m_lru = e->m_lru;
  return copy;
}

void Entry::free_shell(Entry* e) { ::operator delete(e); }

}  // namespace kv
