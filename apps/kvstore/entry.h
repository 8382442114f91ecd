// One key of the key space in one allocation: a 16-byte header, an expiry
// part only when the key has a time, the key's bytes, then the value: a
// string's bytes inline, or a pointer to the list, hash, set or sorted set
// (values.h). A 16-byte key with a 16-byte string value takes one 48-byte
// block; the table (entry_table.h) adds a pointer per slot.
//
// Entries are immutable in size: a new value, or gaining or losing a time,
// builds a new entry (Keyspace does it and updates the table), so callers
// hold an Entry* only until their next change to the key space.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <string_view>

namespace kv {

inline constexpr int64_t kNoExpiry = -1;

enum class ValueType : uint8_t { kString, kList, kHash, kSet, kZSet };
// "string", "list", "hash", "set", "zset": TYPE's reply.
const char* type_name(ValueType type);

class Entry {
 public:
  // A new entry with a copy of `key` and `value`; `expire_at` kNoExpiry: no
  // expiry part.
  static Entry* make_string(std::string_view key, std::string_view value, int64_t expire_at);
  // A new entry that owns `object` (a value of `type`, from values.h).
  static Entry* make_object(std::string_view key, ValueType type, void* object, int64_t expire_at);
  // Frees the entry and the object it owns.
  static void destroy(Entry* e);
  // A copy of `e` with `expire_at` instead of its time, sharing its object:
  // free `e` with free_shell() once the copy has taken its place.
  static Entry* copy_with_expiry(const Entry* e, int64_t expire_at);
  // Frees the entry but not its object.
  static void free_shell(Entry* e);

  std::string_view key() const { return {key_data(), m_key_len}; }
  ValueType type() const { return static_cast<ValueType>(m_type); }
  // The value of a kString entry.
  std::string_view str() const { return {key_data() + m_key_len, m_val_len}; }
  // The value of any other type.
  void* object() const {
    void* p;
    memcpy(&p, key_data() + m_key_len, sizeof p);
    return p;
  }
  template <typename T>
  T& as() const {
    return *static_cast<T*>(object());
  }

  bool has_expiry() const { return m_flags & kHasExpiry; }
  int64_t expire_at() const { return has_expiry() ? expiry()->at : kNoExpiry; }
  void set_expire_at(int64_t at) { expiry()->at = at; }  // only when has_expiry()
  uint32_t expire_slot() const { return expiry()->slot; }
  void set_expire_slot(uint32_t slot) { expiry()->slot = slot; }

  // The LRU clock's value at the last access (Keyspace's counter).
  uint32_t lru() const { return m_lru; }
  void set_lru(uint32_t clock) { m_lru = clock; }

 private:
  static constexpr uint8_t kHasExpiry = 1;
  struct Expiry {
    int64_t at;     // wall-clock ms; gone once now > at
    uint32_t slot;  // index in Keyspace's list of keys with a time
    uint32_t unused;
  };
  static Entry* allocate(std::string_view key, size_t value_len, ValueType type, int64_t expire_at);
  Expiry* expiry() const {
    return reinterpret_cast<Expiry*>(const_cast<char*>(reinterpret_cast<const char*>(this + 1)));
  }
  char* key_data() const {
    auto* p = const_cast<char*>(reinterpret_cast<const char*>(this + 1));
    return has_expiry() ? p + sizeof(Expiry) : p;
  }

  uint32_t m_key_len;
  uint32_t m_val_len;  // a string's length; the pointer's size for objects
  uint32_t m_lru;
  uint8_t m_type;
  uint8_t m_flags;
  uint16_t m_unused;
};
static_assert(sizeof(Entry) == 16);

}  // namespace kv
