#include "entry_table.h"

#include <stdlib.h>
#include <string.h>

#include <new>

namespace kv {

namespace {

constexpr size_t kMinCapacity = 16;

uint64_t mix(uint64_t h) {
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ULL;
  h ^= h >> 32;
  return h;
}

}  // namespace

uint64_t hash_key(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x9E3779B97F4A7C15ULL ^ n;
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t w;
    memcpy(&w, p, 8);
    h = mix(h ^ w) + 0x632BE59BD9B4E019ULL;
  }
  uint64_t w = 0;
  memcpy(&w, p, n);
  return mix(mix(h ^ w) ^ 0x8CB92BA72F3D8DD7ULL);
}

EntryTable::~EntryTable() {
  clear();
  ::operator delete(m_slots);
}

size_t EntryTable::probe(std::string_view key, uint64_t hash) const {
  uintptr_t tag = hash >> kTagShift << kTagShift;
  size_t i = hash & m_mask;
  for (;; i = (i + 1) & m_mask) {
    uintptr_t s = m_slots[i];
    if (s == 0) return i;
    if ((s & ~((uintptr_t{1} << kTagShift) - 1)) == tag && entry_of(s)->key() == key) return i;
  }
}

Entry* EntryTable::find(std::string_view key) const {
  if (m_size == 0) return nullptr;
  return entry_of(m_slots[probe(key, hash_key(key))]);
}

void EntryTable::insert(Entry* e) {
  if (reinterpret_cast<uintptr_t>(e) >> kTagShift) abort();  // an address the tag would clobber
  if ((m_size + 1) * 4 > capacity() * 3 || m_slots == nullptr)
    resize(m_slots ? capacity() * 2 : kMinCapacity);
  uint64_t h = hash_key(e->key());
  m_slots[probe(e->key(), h)] = slot_of(e, h);
  ++m_size;
}

void EntryTable::replace(Entry* before, Entry* now) {
  uint64_t h = hash_key(before->key());
  m_slots[probe(before->key(), h)] = slot_of(now, h);
}

Entry* EntryTable::remove(std::string_view key) {
  if (m_size == 0) return nullptr;
  size_t i = probe(key, hash_key(key));
  Entry* e = entry_of(m_slots[i]);
  if (!e) return nullptr;
  // Backward shift: move each later entry of the run into the hole unless
  // its home slot lies cyclically in (hole, its slot].
  for (size_t j = i;;) {
    m_slots[i] = 0;
    for (;;) {
      j = (j + 1) & m_mask;
      if (m_slots[j] == 0) {
        --m_size;
        if (m_size * 8 < capacity() && capacity() > kMinCapacity) resize(capacity() / 2);
        return e;
      }
      size_t home = hash_key(entry_of(m_slots[j])->key()) & m_mask;
      if (((j - home) & m_mask) >= ((j - i) & m_mask)) break;
    }
    m_slots[i] = m_slots[j];
    i = j;
  }
}

void EntryTable::clear() {
  for (size_t i = 0; m_slots && i < capacity(); ++i) {
    if (m_slots[i]) Entry::destroy(entry_of(m_slots[i]));
  }
  ::operator delete(m_slots);
  m_slots = nullptr;
  m_mask = static_cast<size_t>(-1);
  m_size = 0;
}

Entry* EntryTable::at_or_after(size_t i) const {
  for (size_t n = 0; m_size > 0 && n < capacity(); ++n, i = (i + 1) & m_mask) {
    if (m_slots[i & m_mask]) return entry_of(m_slots[i & m_mask]);
  }
  return nullptr;
}

void EntryTable::resize(size_t capacity) {
  uintptr_t* old = m_slots;
  size_t old_capacity = old ? m_mask + 1 : 0;
  m_slots = static_cast<uintptr_t*>(::operator new(capacity * sizeof(uintptr_t)));
  memset(m_slots, 0, capacity * sizeof(uintptr_t));
  m_mask = capacity - 1;
  for (size_t i = 0; i < old_capacity; ++i) {
    if (!old[i]) continue;
    Entry* e = entry_of(old[i]);
    uint64_t h = hash_key(e->key());
    m_slots[probe(e->key(), h)] = slot_of(e, h);
  }
  ::operator delete(old);
}

}  // namespace kv
