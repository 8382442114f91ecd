// The key space: keys to values (a string, or a list, hash, set or sorted
// set), each with an optional absolute expiry time (wall-clock ms, as Redis
// keeps it), in an EntryTable of single-allocation entries (entry.h).
//
// Expiry is lazy (a lookup past a key's time removes it) and active: a
// periodic cycle samples keys that have a time, like Redis's
// activeExpireCycle. Eviction (evict.cpp) removes keys chosen by the
// maxmemory policy while the memory in use is over maxmemory. Either way the
// listener hears of the removal, so the server can log it.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <string_view>
#include <vector>

#include "entry.h"
#include "entry_table.h"

namespace kv {

class RemovalListener {
 public:
  // `key` expired or was evicted; the server logs a DEL.
  virtual void on_removed(std::string_view key) = 0;
  // Memory in the log's write buffers, which maxmemory leaves out, as Redis
  // does: evicting keys to make room for their own DELs would feed on itself.
  virtual uint64_t log_buffer_bytes() const = 0;

 protected:
  ~RemovalListener() = default;
};

enum class EvictionPolicy : uint8_t {
  kNoEviction,
  kAllKeysLru,
  kVolatileLru,
  kAllKeysRandom,
  kVolatileRandom,
  kVolatileTtl,
};
const char* eviction_policy_name(EvictionPolicy policy);
bool parse_eviction_policy(std::string_view name, EvictionPolicy& policy);

struct MemoryLimit {
  uint64_t maxmemory = 0;  // bytes of mem::used(); 0: no limit
  EvictionPolicy policy = EvictionPolicy::kNoEviction;
  unsigned samples = 5;    // keys looked at per eviction (Redis's maxmemory-samples)
};

class Keyspace {
 public:
  Keyspace();
  ~Keyspace();
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  void set_listener(RemovalListener* listener) { m_listener = listener; }

  // The live entry for `key`, removing it first when it has expired; marks
  // it used for LRU. find_read also counts a keyspace hit or miss for INFO.
  Entry* find(std::string_view key, int64_t now_ms);
  Entry* find_read(std::string_view key, int64_t now_ms);
  // Stores the string `value`. kKeep keeps an existing expiry time; otherwise
  // the key gets `expire_at` (kNoExpiry clears it). A time already past
  // removes the key (nullptr).
  enum class Ttl : bool { kReplace, kKeep };
  Entry* set(std::string_view key, std::string_view value, int64_t expire_at, int64_t now_ms, Ttl ttl = Ttl::kReplace);
  // A new key holding an empty value of `type` (not kString); `key` must
  // not exist.
  Entry* add(std::string_view key, ValueType type);
  // A new string value for `entry`, keeping its time; returns the entry that
  // replaces it.
  Entry* replace_value(Entry* entry, std::string_view value);
  Entry* append_value(Entry* entry, std::string_view more);
  bool erase(std::string_view key);
  void erase(Entry* entry);
  // Sets or clears (kNoExpiry) an entry's time; returns the entry that
  // replaces it.
  Entry* set_expire(Entry* entry, int64_t expire_at);
  void clear();

  // Removes expired keys among a sample of those with a time; repeats while
  // more than a quarter of a sample had expired, up to `max_rounds`.
  size_t active_expire_cycle(int64_t now_ms, unsigned max_rounds);

  // evict.cpp: while mem::used(), less the log's buffers, is over the
  // limit, evicts keys by its policy. false when still over it (noeviction,
  // or nothing left to evict).
  const MemoryLimit& limit() const { return m_limit; }
  void set_limit(const MemoryLimit& limit) { m_limit = limit; }
  uint64_t counted_memory() const;
  bool over_limit() const { return m_limit.maxmemory != 0 && counted_memory() > m_limit.maxmemory; }
  bool make_room();

  static bool expired(const Entry& e, int64_t now_ms) { return e.has_expiry() && now_ms > e.expire_at(); }
  // Calls fn(const Entry&) for every entry, expired ones included; fn must
  // not change the key space.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (size_t i = 0; i < m_table.capacity() && m_table.size() > 0; ++i) {
      if (const Entry* e = m_table.at(i)) fn(*e);
    }
  }
  size_t size() const { return m_table.size(); }
  size_t expires() const { return m_expiring.size(); }
  // Bytes of keys plus values (element bytes of aggregates): the log
  // snapshot's size grows with it.
  uint64_t live_bytes() const { return m_live_bytes; }
  uint64_t expired_keys() const { return m_expired_keys; }
  uint64_t evicted_keys() const { return m_evicted_keys; }
  uint64_t hits() const { return m_hits; }
  uint64_t misses() const { return m_misses; }
  uint64_t random();

 private:
  Entry* touch(Entry* e) {
    e->set_lru(++m_clock);
    return e;
  }
  void remove_now(Entry* e, uint64_t& counter);
  // Puts `now` in the place of `before` (the same key) in the table and the
  // list of keys with a time.
  void substitute(Entry* before, Entry* now);
  void track_expiry(Entry* e);
  void untrack_expiry(Entry* e);
  uint64_t entry_bytes(const Entry& e) const;
  // evict.cpp
  Entry* sample(bool volatile_only);
  Entry* pick_victim();

  EntryTable m_table;
  // Entries with an expiry time (each knows its slot), so the active cycle
  // and the volatile policies can sample them uniformly.
  std::vector<Entry*> m_expiring;
  RemovalListener* m_listener = nullptr;
  MemoryLimit m_limit;
  uint32_t m_clock = 0;  // the LRU clock: one tick per access
  uint64_t m_live_bytes = 0;
  uint64_t m_expired_keys = 0;
  uint64_t m_evicted_keys = 0;
  uint64_t m_hits = 0;
  uint64_t m_misses = 0;
  uint64_t m_rng;
};

}  // namespace kv
