// Grant tables from the guest: grant copies in both directions verified byte for
// byte, read-only grants, bad arguments, ending access, and a revoke refused while
// a backend (the console) has the page mapped.
//
// `--map-grant=refused|ok` pins what differs between the platforms
// (docs/architecture.md, "The two platforms"): GNTTABOP_map_grant_ref is refused
// by the hosted hypervisor (no guest MMU for it to program) and works on Xen,
// where the granted page appears at a guest-physical address of our choice.
// A lone guest's one source of grants is itself, so it maps its own.
#include <stdlib.h>
#include <string.h>
#include <xen/grant_table.h>

#include "atoll/gnttab.h"
#include "atoll/platform.h"
#include "atoll/xenstore.h"
#include "check.h"

using namespace atl;

namespace {

alignas(4096) uint8_t g_granted[4096];
alignas(4096) uint8_t g_local[4096];

int16_t copy(gnttab_copy op) {
  long rc = atoll_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_copy, reinterpret_cast<uintptr_t>(&op), 1, 0, 0);
  return rc < 0 ? static_cast<int16_t>(rc) : op.status;
}

gnttab_copy from_gref_to_local(GrantRef ref, uint16_t self, uint16_t off, uint16_t len) {
  gnttab_copy op{};
  op.source.u.ref = ref.value();
  op.source.domid = self;
  op.source.offset = off;
  op.dest.u.gmfn = gnttab::virt_to_gfn(g_local).value();
  op.dest.domid = DOMID_SELF;
  op.dest.offset = off;
  op.len = len;
  op.flags = GNTCOPY_source_gref;
  return op;
}

// A guest-physical address no RAM sits at in a small PVH domain (RAM starts at
// 0; the console and xenstore pages are just below 4 GiB), inside the identity
// map of the first 4 GiB: where Xen puts the mapped grant. Never touched after
// the unmap, which leaves a hole there.
constexpr uint64_t kMapGpa = 0x80000000;

// The page mapped: a lone guest's one source of grants is itself, and Xen maps
// a frame of the guest's own by *moving* it (seen on the rig: after the map the
// page read back wrong at its old address and grant copies through it failed,
// as when Xen's physmap drops an aliased frame's old entry), so the page's own
// address becomes a hole. This page is used for nothing else and never touched
// after it is granted.
alignas(4096) uint8_t g_map_probe[4096];

uint8_t probe_byte(int i) { return static_cast<uint8_t>(i * 13 + 5); }

void map_own_grant(DomId me, uint16_t self, bool expect_ok) {
  for (int i = 0; i < 4096; ++i) g_map_probe[i] = probe_byte(i);
  auto ref = gnttab::grant_access(me, gnttab::virt_to_gfn(g_map_probe), gnttab::Access::kReadWrite);
  CHECK(ref.ok(), "a grant for the map probe");
  if (!ref.ok()) return;
  gnttab_map_grant_ref map{};
  map.host_addr = kMapGpa;
  map.flags = GNTMAP_host_map;  // an auto-translated guest: a physmap address, no device or PTE map
  map.ref = ref->value();
  map.dom = self;
  long rc = atoll_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, reinterpret_cast<uintptr_t>(&map), 1,
                            0, 0);
  bool mapped = rc == 0 && map.status == GNTST_okay;
  if (!expect_ok) {
    CHECK(!mapped, "mapping a grant is refused on this platform (rc %ld, status %d)", rc, map.status);
  } else {
    CHECK(mapped, "mapping a grant at %#lx works on this platform (rc %ld, status %d)",
          static_cast<unsigned long>(kMapGpa), rc, map.status);
  }
  if (mapped) {
    volatile uint8_t* seen = static_cast<volatile uint8_t*>(platform::phys_to_virt(kMapGpa));
    int first_bad = -1;
    for (int i = 0; i < 4096 && first_bad < 0; ++i)
      if (seen[i] != probe_byte(i)) first_bad = i;
    CHECK(first_bad < 0, "the mapped page holds the granted page's bytes (first difference at %d)", first_bad);
    seen[0] = 0x5a;
    CHECK(seen[0] == 0x5a, "the mapping is writable");
    gnttab_unmap_grant_ref unmap{};
    unmap.host_addr = kMapGpa;
    unmap.handle = map.handle;
    rc = atoll_hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref, reinterpret_cast<uintptr_t>(&unmap), 1,
                         0, 0);
    CHECK(rc == 0 && unmap.status == GNTST_okay, "unmapping it (rc %ld, status %d)", rc, unmap.status);
  }
  CHECK(gnttab::end_access(*ref), "ending the map probe's grant");
}

}  // namespace

int main(int argc, char** argv) {
  // What this platform's hypervisor does with GNTTABOP_map_grant_ref (see the top).
  const char* map_mode = nullptr;
  for (int i = 1; i < argc; ++i)
    if (strncmp(argv[i], "--map-grant=", 12) == 0) map_mode = argv[i] + 12;
  // This domain's id, as its toolstack wrote it (`atoll run`: 1; xl: the next free id).
  xs::Client* xs = xs::client();
  auto domid_text = xs ? xs->read("domid") : Result<std::string>(Errno::kNoEnt);
  const int domid = domid_text.ok() ? atoi(domid_text->c_str()) : 0;
  CHECK(domid > 0 && domid < static_cast<int>(DOMID_FIRST_RESERVED), "domid from xenstore: %s", domid_text.ok() ? domid_text->c_str() : "error");
  if (domid <= 0 || domid >= static_cast<int>(DOMID_FIRST_RESERVED)) return check_result("grants");
  uint16_t self = static_cast<uint16_t>(domid);
  DomId me(self);
  uint32_t free_before = gnttab::free_refs();
  CHECK(free_before > 1000, "the grant table is set up (%u free refs)", free_before);

  for (int i = 0; i < 4096; ++i) g_granted[i] = static_cast<uint8_t>(i * 7 + 3);
  auto ref = gnttab::grant_access(me, gnttab::virt_to_gfn(g_granted), gnttab::Access::kReadWrite);
  CHECK(ref.ok() && ref->value() >= 8, "grant_access hands out a non-reserved ref (%u)", ref.ok() ? ref->value() : 0);
  if (!ref.ok()) return check_result("grants");

  memset(g_local, 0, sizeof g_local);
  CHECK(copy(from_gref_to_local(*ref, self, 0, 4096)) == GNTST_okay, "copy from a grant ref: okay");
  CHECK(memcmp(g_local, g_granted, 4096) == 0, "the whole page arrived byte for byte");

  for (int i = 0; i < 4096; ++i) g_local[i] = static_cast<uint8_t>(255 - i);
  gnttab_copy to_gref{};
  to_gref.source.u.gmfn = gnttab::virt_to_gfn(g_local).value();
  to_gref.source.domid = DOMID_SELF;
  to_gref.source.offset = 100;
  to_gref.dest.u.ref = ref->value();
  to_gref.dest.domid = self;
  to_gref.dest.offset = 200;
  to_gref.len = 1000;
  to_gref.flags = GNTCOPY_dest_gref;
  CHECK(copy(to_gref) == GNTST_okay, "copy into a grant ref: okay");
  bool into_ok = memcmp(g_granted + 200, g_local + 100, 1000) == 0 && g_granted[199] == static_cast<uint8_t>(199 * 7 + 3) &&
                 g_granted[1200] == static_cast<uint8_t>(1200 * 7 + 3);
  CHECK(into_ok, "exactly bytes 200..1199 changed");

  CHECK(copy(from_gref_to_local(*ref, self, 4000, 200)) == GNTST_bad_copy_arg, "a copy crossing the page end: bad_copy_arg");
  gnttab_copy foreign = from_gref_to_local(*ref, self, 0, 8);
  foreign.source.domid = DOMID_FIRST_RESERVED - 1;  // an id no toolstack hands out this early
  CHECK(copy(foreign) == GNTST_bad_domain, "a copy from another domain's grant: bad_domain");
  CHECK(copy(from_gref_to_local(GrantRef(100000), self, 0, 8)) == GNTST_bad_gntref, "a ref past the table: bad_gntref");

  auto ro = gnttab::grant_access(me, gnttab::virt_to_gfn(g_granted), gnttab::Access::kReadOnly);
  to_gref.dest.u.ref = ro->value();
  // Xen answers general_error for an entry that does not allow the copy (as ours does).
  CHECK(ro.ok() && copy(to_gref) == GNTST_general_error, "writing through a read-only grant: general_error");
  CHECK(gnttab::end_access(*ro), "ending the read-only grant");

  CHECK(gnttab::end_access(*ref), "ending access to an unused grant succeeds");
  CHECK(copy(from_gref_to_local(*ref, self, 0, 8)) == GNTST_general_error, "the ended ref no longer works: general_error");
  CHECK(gnttab::free_refs() == free_before, "both refs went back to the free list");

  CHECK(!gnttab::end_access(GrantRef(GNTTAB_RESERVED_CONSOLE)), "revoking the console page while its backend maps it is refused");

  // Last: on Xen it leaves a hole where the probe page was (see map_own_grant).
  CHECK(map_mode && (strcmp(map_mode, "ok") == 0 || strcmp(map_mode, "refused") == 0),
        "told what the platform does with a grant map (--map-grant=ok|refused)");
  if (map_mode) {
    uint32_t free_now = gnttab::free_refs();
    map_own_grant(me, self, strcmp(map_mode, "ok") == 0);
    CHECK(gnttab::free_refs() == free_now, "the map probe's ref went back to the free list");
  }
  return check_result("grants");
}
