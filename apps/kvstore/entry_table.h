// The key space's index: an open-addressing hash table of Entry pointers
// with linear probing. A slot is one word: the entry's address with 16 bits
// of the key's hash in its top bits (user-space addresses fit in 48 bits), so
// most probes that miss are told apart without touching the entry. Deletion
// shifts the following run back (no tombstones), so lookups stay short after
// any number of deletes. The table grows at 3/4 full and shrinks at 1/8.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string_view>

#include "entry.h"

namespace kv {

uint64_t hash_key(std::string_view key);

class EntryTable {
 public:
  EntryTable() = default;
  ~EntryTable();
  EntryTable(const EntryTable&) = delete;
  EntryTable& operator=(const EntryTable&) = delete;

  Entry* find(std::string_view key) const;
  // Adds `e`, whose key must not be in the table.
  void insert(Entry* e);
  // Puts `now` where `before` (same key) was.
  void replace(Entry* before, Entry* now);
  // Takes the entry of `key` out of the table and returns it (nullptr: none).
  Entry* remove(std::string_view key);
  // Destroys every entry.
  void clear();

  size_t size() const { return m_size; }
  size_t capacity() const { return m_mask + 1; }
  // Slot `i` (< capacity()), nullptr when empty: for iteration and sampling.
  Entry* at(size_t i) const { return entry_of(m_slots[i]); }
  // The first entry at or after slot `i`, wrapping; nullptr when empty.
  Entry* at_or_after(size_t i) const;

 private:
  static constexpr int kTagShift = 48;
  static Entry* entry_of(uintptr_t slot) {
    return reinterpret_cast<Entry*>(slot & ((uintptr_t{1} << kTagShift) - 1));
  }
  static uintptr_t slot_of(Entry* e, uint64_t hash) {
    return reinterpret_cast<uintptr_t>(e) | (hash >> kTagShift << kTagShift);
  }
  // The slot holding `key`, or the empty slot where it would go.
  size_t probe(std::string_view key, uint64_t hash) const;
  void resize(size_t capacity);

  uintptr_t* m_slots = nullptr;
  size_t m_mask = static_cast<size_t>(-1);  // capacity - 1; capacity 0 before the first insert
  size_t m_size = 0;
};

}  // namespace kv
