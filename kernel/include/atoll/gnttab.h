// Grant tables, guest side: let a peer domain access pages of ours.
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "atoll/result.h"
#include "atoll/types.h"

namespace atl::gnttab {

enum class Access { kReadWrite, kReadOnly };

// Sets the table up with the hypervisor (GNTTABOP_setup_table). Called at boot.
Result<void> init(unsigned frames = 4);

Result<GrantRef> grant_access(DomId peer, Gfn frame, Access access);
// Ends access and frees the ref. Returns false — keeping the ref — while the peer
// still has the page mapped; try again after it unmaps.
bool end_access(GrantRef ref);
// Grants every page touched by [buffer, buffer + length) to `peer`; writes the
// refs to `refs` (room for `max_refs`). Returns how many were granted.
Result<size_t> grant_buffer(DomId peer, const void* buffer, size_t length, Access access, GrantRef* refs,
                            size_t max_refs);
uint32_t free_refs();
// The frame of a guest virtual address (for granting).
Gfn virt_to_gfn(const void* va);

}  // namespace atl::gnttab
