// Eviction under maxmemory, approximated by sampling as Redis does: each
// eviction looks at `samples` keys (all keys, or only those with a time for
// the volatile policies) and removes the best candidate among them: the
// least recently used, the one expiring soonest, or any one.
#include <string_view>

#include "keyspace.h"
#include "memory.h"

namespace kv {

namespace {

struct PolicyName {
  EvictionPolicy policy;
  std::string_view name;
};

constexpr PolicyName kPolicies[] = {
    {EvictionPolicy::kNoEviction, "noeviction"},         {EvictionPolicy::kAllKeysLru, "allkeys-lru"},
    {EvictionPolicy::kVolatileLru, "volatile-lru"},      {EvictionPolicy::kAllKeysRandom, "allkeys-random"},
    {EvictionPolicy::kVolatileRandom, "volatile-random"}, {EvictionPolicy::kVolatileTtl, "volatile-ttl"},
};

bool volatile_only(EvictionPolicy p) {
  return p == EvictionPolicy::kVolatileLru || p == EvictionPolicy::kVolatileRandom ||
         p == EvictionPolicy::kVolatileTtl;
}

}  // namespace

const char* eviction_policy_name(EvictionPolicy policy) {
  for (const auto& p : kPolicies)
    if (p.policy == policy) return p.name.data();
  return "?";
}

bool parse_eviction_policy(std::string_view name, EvictionPolicy& policy) {
  for (const auto& p : kPolicies) {
    if (name.size() != p.name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < name.size() && same; ++i) {
      char c = name[i];
      same = (c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) == p.name[i];
    }
    if (same) {
      policy = p.policy;
      return true;
    }
  }
  return false;
}

uint64_t Keyspace::counted_memory() const {
  uint64_t used = mem::used(), log = m_listener ? m_listener->log_buffer_bytes() : 0;
  return used > log ? used - log : 0;
}

bool Keyspace::make_room() {
  while (over_limit()) {
    if (m_limit.policy == EvictionPolicy::kNoEviction) return false;
    Entry* victim = pick_victim();
    if (!victim) return false;
    remove_now(victim, m_evicted_keys);
  }
  return true;
}

Entry* Keyspace::sample(bool volatile_keys) {
  if (volatile_keys) return m_expiring.empty() ? nullptr : m_expiring[random() % m_expiring.size()];
  if (m_table.size() == 0) return nullptr;
  return m_table.at_or_after(random() & (m_table.capacity() - 1));
}

Entry* Keyspace::pick_victim() {
  EvictionPolicy policy = m_limit.policy;
  bool vol = volatile_only(policy);
  if (policy == EvictionPolicy::kAllKeysRandom || policy == EvictionPolicy::kVolatileRandom) return sample(vol);
  Entry* best = nullptr;
  for (unsigned i = 0; i < m_limit.samples; ++i) {
    Entry* e = sample(vol);
    if (!e) return nullptr;
    bool better;
    if (!best) better = true;
    else if (policy == EvictionPolicy::kVolatileTtl) better = e->expire_at() < best->expire_at();
    else better = static_cast<uint32_t>(m_clock - e->lru()) > static_cast<uint32_t>(m_clock - best->lru());
    if (better) best = e;
  }
  return best;
}

}  // namespace kv
