// A guest that takes every grant entry it has and asks the hypervisor for
// more than it gives, then holds them all while its neighbour works
// (run_neighbour.py: the neighbour's disk I/O goes through grants of its own,
// in its own table, and must not notice):
//
//  * GNTTABOP_query_size: the frames it has and the most it may have;
//  * grant_access until refused: every free entry taken (kNoSpc after), each
//    ref handed out once;
//  * GNTTABOP_setup_table for one frame more than the most, for another
//    domain's table, and with its frame list outside its memory: refused
//    (GNTST_general_error, GNTST_bad_domain, -EFAULT), the table unchanged;
//  * while attacking, round after round: one grant more (refused), the
//    oversized setup again (refused), and a handful of entries ended and
//    taken again (the allocator hands back what was freed, never more);
//  * at data/stop: every entry ended, and granting works again.
#include <stdio.h>
#include <xen/grant_table.h>

#include <vector>

#include "atoll/gnttab.h"
#include "atoll/platform.h"
#include "atoll/xenstore.h"
#include "check.h"

using namespace atl;

namespace {

alignas(4096) uint8_t g_page[4096];

long grant_op(unsigned cmd, void* op) {
  return atoll_hypercall(__HYPERVISOR_grant_table_op, cmd, reinterpret_cast<uintptr_t>(op), 1, 0, 0);
}

gnttab_query_size query_size() {
  gnttab_query_size q{};
  q.dom = DOMID_SELF;
  if (grant_op(GNTTABOP_query_size, &q) != 0) q.status = GNTST_general_error;
  return q;
}

// A setup_table for `frames` frames of domain `dom`'s table into `list`;
// the hypercall's result, or its status when the call itself went through.
long setup(uint32_t frames, domid_t dom, xen_pfn_t* list) {
  gnttab_setup_table op{};
  op.dom = dom;
  op.nr_frames = frames;
  set_xen_guest_handle(op.frame_list, list);
  long rc = grant_op(GNTTABOP_setup_table, &op);
  return rc != 0 ? rc : op.status;
}

Gfn page() { return gnttab::virt_to_gfn(g_page); }

}  // namespace

int main() {
  xs::Client* client = xs::client();
  CHECK(client != nullptr, "connected to xenstore");
  if (!client) return check_result("gnttab_exhaust");
  gnttab_query_size q = query_size();
  CHECK(q.status == GNTST_okay && q.nr_frames >= 1 && q.nr_frames <= q.max_nr_frames,
        "query_size: %u frames of at most %u (status %d)", q.nr_frames, q.max_nr_frames, q.status);

  const uint32_t free_before = gnttab::free_refs();
  std::vector<GrantRef> held;
  Errno refused = Errno::kInval;
  for (;;) {
    auto r = gnttab::grant_access(DomId(0), page(), gnttab::Access::kReadOnly);
    if (!r.ok()) {
      refused = r.error();
      break;
    }
    held.push_back(*r);
    if (held.size() > 512u * q.max_nr_frames) break;  // more than any table holds: a bug
  }
  std::vector<bool> seen(512u * q.max_nr_frames, false);
  unsigned doubles = 0;
  for (GrantRef r : held) {
    if (r.value() >= seen.size() || seen[r.value()]) ++doubles;
    else seen[r.value()] = true;
  }
  CHECK(held.size() == free_before && refused == Errno::kNoSpc && gnttab::free_refs() == 0,
        "every free entry taken (%zu of %u), then refused (%s)", held.size(), free_before,
        refused == Errno::kNoSpc ? "ENOSPC" : "another error");
  CHECK(doubles == 0, "each ref handed out once (%u were not)", doubles);

  xen_pfn_t list[64];
  long over = setup(q.max_nr_frames + 1, DOMID_SELF, list);
  CHECK(over == GNTST_general_error, "setup_table for %u frames (one past the most): %ld", q.max_nr_frames + 1, over);
  long other = setup(q.nr_frames, 0, list);
  CHECK(other == GNTST_bad_domain, "setup_table of domain 0's table: %ld", other);
  long fault = setup(q.nr_frames, DOMID_SELF, reinterpret_cast<xen_pfn_t*>(uintptr_t{0x7ff000000000}));
  CHECK(fault == -14, "setup_table with its frame list outside guest memory: %ld (-EFAULT)", fault);
  gnttab_query_size after = query_size();
  CHECK(after.status == GNTST_okay && after.nr_frames == q.nr_frames, "the table is unchanged (%u frames)",
        after.nr_frames);

  printf("gnttab_exhaust: attacking\n");
  fflush(stdout);
  unsigned rounds = 0, wrong = 0;
  while (!client->read("data/stop").ok()) {
    wrong += gnttab::grant_access(DomId(0), page(), gnttab::Access::kReadOnly).ok();
    wrong += setup(q.max_nr_frames + 1, DOMID_SELF, list) != GNTST_general_error;
    // Eight entries let go and taken again: exactly those eight come back.
    for (unsigned i = 0; i < 8; ++i) wrong += !gnttab::end_access(held[held.size() - 1 - i]);
    for (unsigned i = 0; i < 8; ++i) {
      auto r = gnttab::grant_access(DomId(0), page(), gnttab::Access::kReadOnly);
      wrong += !r.ok();
      if (r.ok()) held[held.size() - 1 - i] = *r;
    }
    wrong += gnttab::free_refs() != 0;
    ++rounds;
  }
  printf("gnttab_exhaust: %u rounds with every entry held\n", rounds);
  CHECK(wrong == 0, "at the limit, each round got what it should (%u wrong)", wrong);

  unsigned stuck = 0;
  for (GrantRef r : held) stuck += !gnttab::end_access(r);
  CHECK(stuck == 0 && gnttab::free_refs() == free_before, "every entry ended (%u could not), %u free again", stuck,
        gnttab::free_refs());
  auto again = gnttab::grant_access(DomId(0), page(), gnttab::Access::kReadOnly);
  CHECK(again.ok() && gnttab::end_access(*again), "and granting works again");
  return check_result("gnttab_exhaust");
}
