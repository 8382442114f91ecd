// Grant-table v1 entry transitions (xen/grant_table.h, struct grant_entry_v1),
// shared by both sides: the guest grants and ends access, the hypervisor
// acquires and releases an entry for a backend's map or copy.
//
// ORDERING: `flags` and `domid` are one 32-bit word updated with compare-and-swap,
// exactly as Xen does, so a guest ending access and a backend acquiring the entry
// cannot both win. `frame` is written before flags (the release fence in grant())
// and read after a successful acquire.
#pragma once

#include <stdint.h>
#include <xen/grant_table.h>

namespace atl::gnttab_v1 {

// ABI: grant_entry_v1 is {uint16_t flags; domid_t domid; uint32_t frame;}.
static_assert(sizeof(grant_entry_v1_t) == 8, "grant_entry_v1 is 8 bytes");
inline constexpr unsigned kEntriesPerFrame = 4096 / sizeof(grant_entry_v1_t);

inline uint32_t* flags_word(grant_entry_v1_t* e) { return reinterpret_cast<uint32_t*>(e); }

// Guest: publish `frame` to `domid`.
inline void grant(grant_entry_v1_t* e, uint16_t domid, uint32_t frame, bool readonly) {
  e->frame = frame;
  e->domid = domid;
  __atomic_thread_fence(__ATOMIC_RELEASE);
  __atomic_store_n(&e->flags, static_cast<uint16_t>(GTF_permit_access | (readonly ? GTF_readonly : 0)),
                   __ATOMIC_RELEASE);
}

// Guest: revoke the grant unless the peer holds it (GTF_reading/GTF_writing set).
// Returns false, leaving the entry alone, while it is in use.
inline bool end_access(grant_entry_v1_t* e) {
  uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
  for (;;) {
    if (flags & (GTF_reading | GTF_writing)) return false;
    if (__atomic_compare_exchange_n(&e->flags, &flags, uint16_t{0}, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return true;
  }
}

enum class Acquire { kOk, kBadRef, kDenied, kBusy };

// Hypervisor: mark the entry in use by `grantee` (GTF_reading, plus GTF_writing for
// write access) if it grants that. A guest racing us is retried a few times, as
// Xen does; a guest that keeps flipping the entry gets kBusy.
inline Acquire acquire(grant_entry_v1_t* e, uint16_t grantee, bool readonly) {
  uint32_t* word = flags_word(e);
  uint32_t cur = __atomic_load_n(word, __ATOMIC_ACQUIRE);
  for (int tries = 0; tries < 4; ++tries) {
    uint16_t flags = static_cast<uint16_t>(cur);
    uint16_t domid = static_cast<uint16_t>(cur >> 16);
    if ((flags & GTF_type_mask) != GTF_permit_access || domid != grantee) return Acquire::kBadRef;
    if (!readonly && (flags & GTF_readonly)) return Acquire::kDenied;
    uint32_t want = cur | GTF_reading | (readonly ? 0 : GTF_writing);
    if (want == cur) return Acquire::kOk;
    if (__atomic_compare_exchange_n(word, &cur, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) return Acquire::kOk;
  }
  return Acquire::kBusy;
}

// Hypervisor: drop the in-use bits once no mapping or copy needs them.
inline void release(grant_entry_v1_t* e, bool still_reading, bool still_writing) {
  uint16_t clear = static_cast<uint16_t>((still_reading ? 0 : GTF_reading) | (still_writing ? 0 : GTF_writing));
  __atomic_fetch_and(&e->flags, static_cast<uint16_t>(~clear), __ATOMIC_ACQ_REL);
}

}  // namespace atl::gnttab_v1
