// A domain's grant table, hypervisor side: the v1 entries live in frames the
// hypervisor owns and the guest sees (GNTTABOP_setup_table hands out their frame
// numbers). Backends reach guest memory only through map()/copy_*() here, which
// validate the ref, the grant's owner, direction, frame, offset and length, and
// keep the entry busy (GTF_reading/GTF_writing) for as long as a mapping exists,
// so the guest cannot revoke a page a backend is using.
#pragma once

#include <cstdint>
#include <map>
#include <vector>
#include <span>
#include <xen/grant_table.h>

#include "atoll/hosted_abi.h"
#include "atoll/result.h"
#include "atoll/types.h"
#include "guest_memory.h"

namespace atl::hv {

// Grant failures, with Xen's GNTST_* values.
enum class GrantStatus : int16_t {
  kOkay = 0, kGeneralError = -1, kBadDomain = -2, kBadGntref = -3, kBadHandle = -4,
  kPermissionDenied = -8, kBadPage = -9, kBadCopyArg = -10, kEagain = -12, kNoSpace = -13,
};

class GrantTable {
 public:
  static constexpr unsigned kFirstFrame = 32;  // index in the hypervisor frames memfd
  static constexpr unsigned kMaxFrames = hosted::kHvFramesCount - kFirstFrame;
  static constexpr unsigned kInitialFrames = 1;

  GrantTable(const GuestMemory& memory, DomId owner) : m_memory(memory), m_owner(owner) {}

  unsigned nr_frames() const { return m_nr_frames; }
  // `ref` names an entry of the table as it is now (set up, not past its end).
  bool in_table(GrantRef ref) const;
  // GNTTABOP_setup_table: grow to `count` frames (never shrinks) and return their gfns.
  GrantStatus setup(unsigned count, uint64_t* gfns_out);
  static uint64_t frame_gfn(unsigned i) { return (hosted::kHvFramesGpa >> 12) + kFirstFrame + i; }

  // The toolstack fills reserved entries (console, xenstore) before the guest runs.
  void write_entry(GrantRef ref, DomId grantee, uint64_t gfn, bool readonly);

  struct Mapping {
    uint64_t handle;
    std::span<uint8_t> page;
  };
  // Maps the page `ref` grants to `grantee`; read-only unless `writable`.
  Result<Mapping> map(GrantRef ref, DomId grantee, bool writable, GrantStatus* status = nullptr);
  GrantStatus unmap(uint64_t handle);
  unsigned mapping_count() const { return static_cast<unsigned>(m_mappings.size()); }

  // One-shot copies out of / into a granted page, checked like a mapping.
  GrantStatus copy_from(GrantRef ref, DomId grantee, uint32_t offset, std::span<uint8_t> out);
  GrantStatus copy_to(GrantRef ref, DomId grantee, uint32_t offset, std::span<const uint8_t> in);

  // Bytes [offset, offset + length) of a granted page, to be read in place
  // (by a writev, say) instead of copied: checked like a copy, and the entry
  // stays in use until end_read(ref), so the guest cannot end the grant
  // meanwhile. The guest can still write the page: whatever the caller must
  // validate, it copies out first and validates the copy.
  GrantStatus begin_read(GrantRef ref, DomId grantee, uint32_t offset, uint32_t length,
                         std::span<const uint8_t>* out);
  void end_read(GrantRef ref);

 private:
  grant_entry_v1_t* entry(GrantRef ref) const;
  // Marks the entry in use and finds its page; `pin` also counts it as mapped.
  GrantStatus acquire(GrantRef ref, DomId grantee, bool writable, bool pin, std::span<uint8_t>* page);
  // Undoes one acquire; the entry's in-use bits stay while mappings need them.
  void drop(GrantRef ref, bool writable, bool pinned);

  const GuestMemory& m_memory;
  DomId m_owner;
  unsigned m_nr_frames = kInitialFrames;
  struct Pins {
    unsigned readers = 0;
    unsigned writers = 0;
  };
  std::vector<Pins> m_pins;  // by ref, sized with the table
  struct MapRecord {
    uint32_t ref;
    bool writable;
  };
  std::map<uint64_t, MapRecord> m_mappings;
  uint64_t m_next_handle = 1;
};

}  // namespace atl::hv
