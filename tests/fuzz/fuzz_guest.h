// A guest as a backend sees it, for the fuzz targets of the ring parsers: the
// domain's memory (the real GuestMemory, memfds and all) and its grant table.
// The input plays the guest: it writes grant entries and page contents
// straight into that memory, as a frontend does, and the backend code reaches
// them only through GrantTable and GuestMemory::span, as it does in atoll.
#pragma once

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include <xen/grant_table.h>

#include "atoll/gnttab_v1.h"
#include "atoll/hosted_abi.h"
#include "fuzz_input.h"
#include "gnttab.h"
#include "guest_memory.h"

namespace atl::fuzz {

using hv::GrantTable;
using hv::GuestMemory;

class FuzzGuest {
 public:
  // Guest RAM: a few pages are enough to name valid, invalid and shared frames.
  static constexpr unsigned kPages = 16;
  // The first ref a frontend may use (0..7 are the toolstack's).
  static constexpr uint32_t kFirstRef = 8;
  static constexpr uint32_t kEntries = gnttab_v1::kEntriesPerFrame;

  // The memory outlives inputs (memfds are slow to make); everything a guest
  // could have written is cleared by reset().
  static FuzzGuest& instance() {
    static FuzzGuest guest;
    return guest;
  }

  // A fresh domain: zeroed RAM and grant frame, and a new grant table.
  GrantTable& reset() {
    std::memset(page(0), 0, kPages * hosted::kPageSize);
    std::memset(m_memory->frame(GrantTable::kFirstFrame), 0, hosted::kPageSize);
    m_table.emplace(*m_memory, DomId(1));
    return *m_table;
  }
  GrantTable& gnttab() { return *m_table; }

  // Host view of guest page `n` (n < kPages), through the checked accessor.
  uint8_t* page(unsigned n) const {
    auto s = m_memory->span(hosted::gpa_to_va(uint64_t{n} * hosted::kPageSize), hosted::kPageSize);
    if (!s) std::abort();
    return s->data();
  }

  // What a frontend does to share page `n` with dom0 through `ref`.
  void grant(uint32_t ref, unsigned n, bool readonly) {
    m_table->write_entry(GrantRef(ref), DomId(0), n, readonly);
  }

  // Op "the guest rewrites a grant entry": ref, flags, domid, frame, all raw.
  void poke_entry(FuzzInput& in) {
    uint32_t ref = in.u16() % kEntries;
    grant_entry_v1_t e;
    e.flags = in.u16();
    e.domid = in.u16();
    e.frame = in.u32();
    auto* table = reinterpret_cast<grant_entry_v1_t*>(m_memory->frame(GrantTable::kFirstFrame));
    std::memcpy(&table[ref], &e, sizeof e);
  }

  // Op "the guest writes bytes into its memory": page, offset, length, bytes.
  void poke_memory(FuzzInput& in) {
    unsigned n = in.byte() % kPages;
    uint16_t offset = in.u16() % hosted::kPageSize;
    auto bytes = in.take(std::min<size_t>(in.byte() * 4u, hosted::kPageSize - offset));
    std::memcpy(page(n) + offset, bytes.data(), bytes.size());
  }

 private:
  FuzzGuest() : m_memory(create_memory()) {}

  static std::optional<GuestMemory> create_memory() {
    std::string error;
    auto memory = GuestMemory::try_create(kPages * hosted::kPageSize, error);
    if (!memory) std::abort();
    return memory;
  }

  std::optional<GuestMemory> m_memory;
  std::optional<GrantTable> m_table;
};

}  // namespace atl::fuzz
