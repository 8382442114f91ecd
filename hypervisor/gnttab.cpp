#include "gnttab.h"

#include <cstring>

#include "atoll/gnttab_v1.h"

namespace atl::hv {

using hosted::kPageSize;

GrantStatus GrantTable::setup(unsigned count, uint64_t* gfns_out) {
  if (count > kMaxFrames) return GrantStatus::kGeneralError;
  if (count > m_nr_frames) m_nr_frames = count;
  m_pins.resize(m_nr_frames * gnttab_v1::kEntriesPerFrame);
  for (unsigned i = 0; i < count; ++i) gfns_out[i] = frame_gfn(i);
  return GrantStatus::kOkay;
}

grant_entry_v1_t* GrantTable::entry(GrantRef ref) const {
  if (ref.value() >= m_nr_frames * gnttab_v1::kEntriesPerFrame) return nullptr;
  auto* base = reinterpret_cast<grant_entry_v1_t*>(m_memory.frame(kFirstFrame));
  return &base[ref.value()];
}

bool GrantTable::in_table(GrantRef ref) const { return ref.value() < m_nr_frames * gnttab_v1::kEntriesPerFrame; }

void GrantTable::write_entry(GrantRef ref, DomId grantee, uint64_t gfn, bool readonly) {
  if (grant_entry_v1_t* e = entry(ref)) gnttab_v1::grant(e, grantee.value(), static_cast<uint32_t>(gfn), readonly);
}

GrantStatus GrantTable::acquire(GrantRef ref, DomId grantee, bool writable, bool pin, std::span<uint8_t>* page) {
  grant_entry_v1_t* e = entry(ref);
  if (!e) return GrantStatus::kBadGntref;
  switch (gnttab_v1::acquire(e, grantee.value(), !writable)) {
    case gnttab_v1::Acquire::kOk: break;
    case gnttab_v1::Acquire::kBadRef: return GrantStatus::kBadGntref;
    case gnttab_v1::Acquire::kDenied: return GrantStatus::kPermissionDenied;
    case gnttab_v1::Acquire::kBusy: return GrantStatus::kEagain;
  }
  if (pin) {
    if (m_pins.size() <= ref.value()) m_pins.resize(m_nr_frames * gnttab_v1::kEntriesPerFrame);
    Pins& pins = m_pins[ref.value()];
    ++pins.readers;
    if (writable) ++pins.writers;
  }
  // The frame is read once, after the entry is ours: the guest cannot change it
  // under us any more (Xen: frame changes with the entry in use are ignored).
  uint64_t frame = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
  auto span = frame < (uint64_t{1} << 52) ? m_memory.span(hosted::gpa_to_va(frame * kPageSize), kPageSize) : std::nullopt;
  // Only guest RAM can be granted, never hypervisor-owned frames.
  if (!span || frame * kPageSize >= m_memory.size()) {
    drop(ref, writable, pin);
    return GrantStatus::kBadPage;
  }
  *page = *span;
  return GrantStatus::kOkay;
}

void GrantTable::drop(GrantRef ref, bool writable, bool pinned) {
  Pins none;
  Pins& pins = ref.value() < m_pins.size() ? m_pins[ref.value()] : none;
  if (pinned) {
    if (pins.readers) --pins.readers;
    if (writable && pins.writers) --pins.writers;
  }
  if (grant_entry_v1_t* e = entry(ref)) gnttab_v1::release(e, pins.readers != 0, pins.writers != 0);
}

Result<GrantTable::Mapping> GrantTable::map(GrantRef ref, DomId grantee, bool writable, GrantStatus* status) {
  std::span<uint8_t> page;
  GrantStatus st = acquire(ref, grantee, writable, true, &page);
  if (status) *status = st;
  if (st != GrantStatus::kOkay) return st == GrantStatus::kPermissionDenied ? Errno::kAcces : Errno::kInval;
  uint64_t handle = m_next_handle++;
  m_mappings[handle] = {ref.value(), writable};
  return Mapping{handle, page};
}

GrantStatus GrantTable::unmap(uint64_t handle) {
  auto it = m_mappings.find(handle);
  if (it == m_mappings.end()) return GrantStatus::kBadHandle;
  drop(GrantRef(it->second.ref), it->second.writable, true);
  m_mappings.erase(it);
  return GrantStatus::kOkay;
}

GrantStatus GrantTable::copy_from(GrantRef ref, DomId grantee, uint32_t offset, std::span<uint8_t> out) {
  if (offset > kPageSize || out.size() > kPageSize - offset) return GrantStatus::kBadCopyArg;
  std::span<uint8_t> page;
  GrantStatus st = acquire(ref, grantee, false, false, &page);
  if (st != GrantStatus::kOkay) return st;
  std::memcpy(out.data(), page.data() + offset, out.size());
  drop(ref, false, false);
  return GrantStatus::kOkay;
}

GrantStatus GrantTable::begin_read(GrantRef ref, DomId grantee, uint32_t offset, uint32_t length,
                                   std::span<const uint8_t>* out) {
  if (offset > kPageSize || length > kPageSize - offset) return GrantStatus::kBadCopyArg;
  std::span<uint8_t> page;
  // Pinned, as a mapping is: a packet may name the same grant twice, and the
  // entry stays in use until the last of its reads ends.
  GrantStatus st = acquire(ref, grantee, false, true, &page);
  if (st != GrantStatus::kOkay) return st;
  *out = page.subspan(offset, length);
  return GrantStatus::kOkay;
}

void GrantTable::end_read(GrantRef ref) { drop(ref, false, true); }

GrantStatus GrantTable::copy_to(GrantRef ref, DomId grantee, uint32_t offset, std::span<const uint8_t> in) {
  if (offset > kPageSize || in.size() > kPageSize - offset) return GrantStatus::kBadCopyArg;
  std::span<uint8_t> page;
  GrantStatus st = acquire(ref, grantee, true, false, &page);
  if (st != GrantStatus::kOkay) return st;
  std::memcpy(page.data() + offset, in.data(), in.size());
  drop(ref, true, false);
  return GrantStatus::kOkay;
}

}  // namespace atl::hv
