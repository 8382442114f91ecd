// The key space: one map of string keys to string values, each with an
// optional absolute expiry time (wall-clock milliseconds, as Redis keeps it).
//
// Expiry is lazy (a lookup past a key's time removes it) and active: a
// periodic cycle samples keys that have a time, like Redis's
// activeExpireCycle. Either way the listener hears of the removal, so the
// server can log it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace kv {

inline constexpr int64_t kNoExpiry = -1;

class ExpiryListener {
 public:
  virtual void on_expired(const std::string& key) = 0;

 protected:
  ~ExpiryListener() = default;
};

class Keyspace {
 public:
  struct Entry {
    std::string value;
    int64_t expire_at = kNoExpiry;  // wall-clock ms; a key is gone once now > expire_at
    size_t expire_slot = 0;         // index in m_expiring while expire_at is set
  };
  using Map = std::unordered_map<std::string, Entry>;

  Keyspace();
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  void set_listener(ExpiryListener* listener) { m_listener = listener; }

  // The live entry for `key`, removing it first when it has expired.
  // find_read also counts a keyspace hit or miss for INFO.
  Entry* find(const std::string& key, int64_t now_ms);
  Entry* find_read(const std::string& key, int64_t now_ms);
  // Stores `value`. kKeepTtl keeps an existing expiry time; otherwise the key
  // gets `expire_at` (kNoExpiry clears it). A time already past removes the key.
  enum class Ttl : bool { kReplace, kKeep };
  void set(const std::string& key, std::string value, int64_t expire_at, int64_t now_ms, Ttl ttl = Ttl::kReplace);
  void replace_value(Entry& entry, std::string value);
  void append_value(Entry& entry, std::string_view more);
  bool erase(const std::string& key);
  void set_expire(const std::string& key, int64_t expire_at);
  bool persist(const std::string& key);
  void clear();

  // Removes expired keys among a sample of those with a time; repeats while
  // more than a quarter of a sample had expired, up to `max_rounds`.
  size_t active_expire_cycle(int64_t now_ms, unsigned max_rounds);

  static bool expired(const Entry& e, int64_t now_ms) { return e.expire_at != kNoExpiry && now_ms > e.expire_at; }
  const Map& map() const { return m_map; }
  size_t size() const { return m_map.size(); }
  size_t expires() const { return m_expiring.size(); }
  // Bytes of keys plus values: the log snapshot's size grows with it.
  uint64_t live_bytes() const { return m_live_bytes; }
  uint64_t expired_keys() const { return m_expired_keys; }
  uint64_t hits() const { return m_hits; }
  uint64_t misses() const { return m_misses; }

 private:
  void expire_now(Map::iterator it);
  void erase_it(Map::iterator it);
  void track_expiry(Map::value_type& node, int64_t expire_at);
  void untrack_expiry(Entry& e);
  uint64_t random();

  Map m_map;
  // Nodes of m_map with an expiry time (node addresses survive rehashing),
  // so the active cycle can sample them uniformly.
  std::vector<Map::value_type*> m_expiring;
  ExpiryListener* m_listener = nullptr;
  uint64_t m_live_bytes = 0;
  uint64_t m_expired_keys = 0;
  uint64_t m_hits = 0;
  uint64_t m_misses = 0;
  uint64_t m_rng;
};

}  // namespace kv
