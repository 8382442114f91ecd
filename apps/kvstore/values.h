// The values of the aggregate types: list, hash, set and sorted set. Each
// keeps the key space's count of live bytes (element bytes, as for strings:
// the log snapshot's size grows with it) up to date as it changes, through
// the counter it was made with. Their memory is counted like every other
// allocation (memory.h), so maxmemory covers them without their help.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "entry.h"

namespace kv {

class ValueBytes {
 public:
  explicit ValueBytes(uint64_t& live) : m_live(live) {}
  ~ValueBytes() { m_live -= m_bytes; }
  ValueBytes(const ValueBytes&) = delete;
  ValueBytes& operator=(const ValueBytes&) = delete;
  void add(size_t n) {
    m_bytes += n;
    m_live += n;
  }
  void sub(size_t n) {
    m_bytes -= n;
    m_live -= n;
  }

 private:
  uint64_t& m_live;
  uint64_t m_bytes = 0;
};

class ListValue {
 public:
  explicit ListValue(uint64_t& live) : m_bytes(live) {}
  enum class End : bool { kHead, kTail };
  void push(End end, std::string_view item);
  std::string pop(End end);  // the list must not be empty
  size_t size() const { return m_items.size(); }
  const std::string& at(size_t i) const { return m_items[i]; }

 private:
  std::deque<std::string> m_items;
  ValueBytes m_bytes;
};

class HashValue {
 public:
  explicit HashValue(uint64_t& live) : m_bytes(live) {}
  bool set(std::string_view field, std::string_view value);  // true: a new field
  const std::string* get(std::string_view field) const;
  bool del(std::string_view field);
  size_t size() const { return m_fields.size(); }
  const std::unordered_map<std::string, std::string>& fields() const { return m_fields; }

 private:
  std::unordered_map<std::string, std::string> m_fields;
  ValueBytes m_bytes;
};

class SetValue {
 public:
  explicit SetValue(uint64_t& live) : m_bytes(live) {}
  bool add(std::string_view member);
  bool remove(std::string_view member);
  bool contains(std::string_view member) const { return m_members.count(std::string(member)) != 0; }
  // A member chosen at random (`random` is a fresh random number); the set
  // must not be empty.
  const std::string& random_member(uint64_t random) const;
  size_t size() const { return m_members.size(); }
  const std::unordered_set<std::string>& members() const { return m_members; }

 private:
  std::unordered_set<std::string> m_members;
  ValueBytes m_bytes;
};

class ZSetValue {
 public:
  using Order = std::set<std::pair<double, std::string>>;
  explicit ZSetValue(uint64_t& live) : m_bytes(live) {}
  // Sets `member`'s score; true when the member is new.
  bool set(std::string_view member, double score);
  bool remove(std::string_view member);
  const double* score(std::string_view member) const;
  size_t size() const { return m_scores.size(); }
  // Members by score, then by member bytes, as Redis orders them.
  const Order& order() const { return m_order; }

 private:
  std::unordered_map<std::string, double> m_scores;
  Order m_order;
  ValueBytes m_bytes;
};

// A new empty value of `type` (not kString), counting into `live`.
void* make_value(ValueType type, uint64_t& live);
void destroy_value(ValueType type, void* value);

}  // namespace kv
