#include "keyspace.h"

#include "timeutil.h"
#include "values.h"

namespace kv {

Keyspace::Keyspace() : m_rng(static_cast<uint64_t>(monotonic_ms()) * 0x9E3779B97F4A7C15ULL | 1) {}

Keyspace::~Keyspace() { clear(); }

Entry* Keyspace::find(std::string_view key, int64_t now_ms) {
  Entry* e = m_table.find(key);
  if (!e) return nullptr;
  if (expired(*e, now_ms)) {
    remove_now(e, m_expired_keys);
    return nullptr;
  }
  return touch(e);
}

Entry* Keyspace::find_read(std::string_view key, int64_t now_ms) {
  Entry* e = find(key, now_ms);
  ++(e ? m_hits : m_misses);
  return e;
}

Entry* Keyspace::set(std::string_view key, std::string_view value, int64_t expire_at, int64_t now_ms, Ttl ttl) {
  Entry* old = m_table.find(key);
  if (old && ttl == Ttl::kKeep && !expired(*old, now_ms)) expire_at = old->expire_at();
  if (expire_at != kNoExpiry && now_ms > expire_at) {
    if (old) erase(old);
    return nullptr;
  }
  Entry* e = Entry::make_string(key, value, expire_at);
  if (old) {
    substitute(old, e);
    Entry::destroy(old);
  } else {
    m_table.insert(e);
    m_live_bytes += entry_bytes(*e);
    if (e->has_expiry()) track_expiry(e);
  }
  return touch(e);
}

Entry* Keyspace::add(std::string_view key, ValueType type) {
  Entry* e = Entry::make_object(key, type, make_value(type, m_live_bytes), kNoExpiry);
  m_table.insert(e);
  m_live_bytes += entry_bytes(*e);
  return touch(e);
}

Entry* Keyspace::replace_value(Entry* entry, std::string_view value) {
  Entry* e = Entry::make_string(entry->key(), value, entry->expire_at());
  e->set_lru(entry->lru());
  substitute(entry, e);
  Entry::destroy(entry);
  return e;
}

Entry* Keyspace::append_value(Entry* entry, std::string_view more) {
  std::string value;
  value.reserve(entry->str().size() + more.size());
  value.append(entry->str());
  value.append(more);
  return replace_value(entry, value);
}

bool Keyspace::erase(std::string_view key) {
  Entry* e = m_table.find(key);
  if (e) erase(e);
  return e != nullptr;
}

void Keyspace::erase(Entry* e) {
  if (e->has_expiry()) untrack_expiry(e);
  m_live_bytes -= entry_bytes(*e);
  m_table.remove(e->key());
  Entry::destroy(e);
}

Entry* Keyspace::set_expire(Entry* entry, int64_t expire_at) {
  if (entry->has_expiry() && expire_at != kNoExpiry) {  // same shape: no new entry
    entry->set_expire_at(expire_at);
    return entry;
  }
  if (!entry->has_expiry() && expire_at == kNoExpiry) return entry;
  Entry* e = Entry::copy_with_expiry(entry, expire_at);
  substitute(entry, e);
  Entry::free_shell(entry);
  return e;
}

void Keyspace::clear() {
  m_table.clear();
  m_expiring.clear();
  m_expiring.shrink_to_fit();
  m_live_bytes = 0;
}

size_t Keyspace::active_expire_cycle(int64_t now_ms, unsigned max_rounds) {
  constexpr unsigned kSample = 20;  // Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP
  size_t removed = 0;
  for (unsigned round = 0; round < max_rounds && !m_expiring.empty(); ++round) {
    unsigned found = 0;
    unsigned n = m_expiring.size() < kSample ? static_cast<unsigned>(m_expiring.size()) : kSample;
    for (unsigned i = 0; i < n && !m_expiring.empty(); ++i) {
      Entry* e = m_expiring[random() % m_expiring.size()];
      if (!expired(*e, now_ms)) continue;
      remove_now(e, m_expired_keys);
      ++found;
    }
    removed += found;
    if (found * 4 <= n) break;
  }
  return removed;
}

void Keyspace::remove_now(Entry* e, uint64_t& counter) {
  ++counter;
  if (m_listener) m_listener->on_removed(e->key());
  erase(e);
}

void Keyspace::substitute(Entry* before, Entry* now) {
  m_table.replace(before, now);
  if (before->has_expiry()) untrack_expiry(before);
  if (now->has_expiry()) track_expiry(now);
  m_live_bytes = m_live_bytes - entry_bytes(*before) + entry_bytes(*now);
}

void Keyspace::track_expiry(Entry* e) {
  e->set_expire_slot(static_cast<uint32_t>(m_expiring.size()));
  m_expiring.push_back(e);
}

void Keyspace::untrack_expiry(Entry* e) {
  uint32_t slot = e->expire_slot();
  Entry* last = m_expiring.back();
  m_expiring[slot] = last;
  last->set_expire_slot(slot);
  m_expiring.pop_back();
}

uint64_t Keyspace::entry_bytes(const Entry& e) const {
  return e.key().size() + (e.type() == ValueType::kString ? e.str().size() : 0);
}

uint64_t Keyspace::random() {  // xorshift64: sampling needs spread, not secrecy
  m_rng ^= m_rng << 13;
  m_rng ^= m_rng >> 7;
  m_rng ^= m_rng << 17;
  return m_rng;
}

}  // namespace kv
