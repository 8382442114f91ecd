#include "keyspace.h"

#include "timeutil.h"

namespace kv {

Keyspace::Keyspace() : m_rng(static_cast<uint64_t>(monotonic_ms()) * 0x9E3779B97F4A7C15ULL | 1) {}

Keyspace::Entry* Keyspace::find(const std::string& key, int64_t now_ms) {
  auto it = m_map.find(key);
  if (it == m_map.end()) return nullptr;
  if (expired(it->second, now_ms)) {
    expire_now(it);
    return nullptr;
  }
  return &it->second;
}

Keyspace::Entry* Keyspace::find_read(const std::string& key, int64_t now_ms) {
  Entry* e = find(key, now_ms);
  ++(e ? m_hits : m_misses);
  return e;
}

void Keyspace::set(const std::string& key, std::string value, int64_t expire_at, int64_t now_ms, Ttl ttl) {
  auto [it, inserted] = m_map.try_emplace(key);
  Entry& e = it->second;
  if (inserted) {
    m_live_bytes += key.size();
  } else {
    m_live_bytes -= e.value.size();
    if (ttl == Ttl::kKeep && expired(e, now_ms)) ttl = Ttl::kReplace;  // an expired key has no TTL to keep
  }
  m_live_bytes += value.size();
  e.value = std::move(value);
  if (ttl == Ttl::kKeep) return;
  if (expire_at != kNoExpiry && now_ms > expire_at) {
    erase_it(it);
    return;
  }
  if (e.expire_at != kNoExpiry) untrack_expiry(e);
  if (expire_at != kNoExpiry) track_expiry(*it, expire_at);
}

void Keyspace::replace_value(Entry& entry, std::string value) {
  m_live_bytes = m_live_bytes - entry.value.size() + value.size();
  entry.value = std::move(value);
}

void Keyspace::append_value(Entry& entry, std::string_view more) {
  m_live_bytes += more.size();
  entry.value += more;
}

bool Keyspace::erase(const std::string& key) {
  auto it = m_map.find(key);
  if (it == m_map.end()) return false;
  erase_it(it);
  return true;
}

void Keyspace::set_expire(const std::string& key, int64_t expire_at) {
  auto it = m_map.find(key);
  if (it == m_map.end()) return;
  if (it->second.expire_at != kNoExpiry) untrack_expiry(it->second);
  track_expiry(*it, expire_at);
}

bool Keyspace::persist(const std::string& key) {
  auto it = m_map.find(key);
  if (it == m_map.end() || it->second.expire_at == kNoExpiry) return false;
  untrack_expiry(it->second);
  return true;
}

void Keyspace::clear() {
  m_map.clear();
  m_expiring.clear();
  m_live_bytes = 0;
}

size_t Keyspace::active_expire_cycle(int64_t now_ms, unsigned max_rounds) {
  constexpr unsigned kSample = 20;  // Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
  size_t removed = 0;
  for (unsigned round = 0; round < max_rounds && !m_expiring.empty(); ++round) {
    unsigned found = 0;
    unsigned n = m_expiring.size() < kSample ? static_cast<unsigned>(m_expiring.size()) : kSample;
    for (unsigned i = 0; i < n && !m_expiring.empty(); ++i) {
      Map::value_type* node = m_expiring[random() % m_expiring.size()];
      if (!expired(node->second, now_ms)) continue;
      expire_now(m_map.find(node->first));
      ++found;
    }
    removed += found;
    if (found * 4 <= n) break;
  }
  return removed;
}

void Keyspace::expire_now(Map::iterator it) {
  ++m_expired_keys;
  if (m_listener) m_listener->on_expired(it->first);
  erase_it(it);
}

void Keyspace::erase_it(Map::iterator it) {
  if (it->second.expire_at != kNoExpiry) untrack_expiry(it->second);
  m_live_bytes -= it->first.size() + it->second.value.size();
  m_map.erase(it);
}

void Keyspace::track_expiry(Map::value_type& node, int64_t expire_at) {
  node.second.expire_at = expire_at;
  node.second.expire_slot = m_expiring.size();
  m_expiring.push_back(&node);
}

void Keyspace::untrack_expiry(Entry& e) {
  size_t slot = e.expire_slot;
  Map::value_type* last = m_expiring.back();
  m_expiring[slot] = last;
  last->second.expire_slot = slot;
  m_expiring.pop_back();
  e.expire_at = kNoExpiry;
}

uint64_t Keyspace::random() {  // xorshift64: sampling needs spread, not secrecy
  m_rng ^= m_rng << 13;
  m_rng ^= m_rng >> 7;
  m_rng ^= m_rng << 17;
  return m_rng;
}

}  // namespace kv
