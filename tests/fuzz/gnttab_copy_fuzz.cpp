// libFuzzer target for the grant table hypercall as a guest makes it: above
// all GNTTABOP_copy, whose every argument (the list's address and length,
// each copy's sides, refs, frames, domains, offsets and lengths) is the
// guest's, read out of guest memory through the checked accessor
// (fuzz_domain.h), and the grant entries it names, which the guest writes
// as it likes.
//
// Besides "no crash, no sanitizer report", each copy the hypervisor reports
// done (GNTST_okay) is checked against the rules independently of the code
// under test: both sides inside one page, domains this one, a gmfn in guest
// RAM, a ref in the table whose entry grants this domain access (writable
// for the destination) to a frame of guest RAM; and a copy between two frames
// really moved the bytes. After every hypercall no grant may still be held.
//
// The input is a script; op % 5:
//   0  the guest rewrites a grant entry: ref, flags, domid, frame (raw or
//      one of the data pages)
//   1  the guest writes bytes into a data page
//   2  GNTTABOP_copy: count, then each copy (semi-structured or raw), and
//      the list's address (the arguments page, or any value)
//   3  GNTTABOP_setup_table for up to 40 frames (the table grows)
//   4  any grant table command with any argument bytes and address
// Seeds: gen_hypercall_corpus.py.
#include <xen/grant_table.h>
#include <xen/xen.h>

#include <cstring>
#include <optional>
#include <vector>

#include "atoll/gnttab_v1.h"
#include "fuzz_domain.h"
#include "fuzz_input.h"
#include "gnttab.h"

namespace atl::fuzz {
namespace {

using hv::GrantTable;

constexpr unsigned kMaxRefs = 4 * gnttab_v1::kEntriesPerFrame;

class GrantCopyScript : public DomainScript {
 public:
  GrantCopyScript(FuzzInput& in, FuzzDomain& d) : DomainScript(in, d) {}

  void run() {
    while (!m_in.empty()) {
      switch (m_in.byte() % 5) {
        case 0: poke_entry(); break;
        case 1: poke_data(); break;
        case 2: copy(); break;
        case 3: setup(); break;
        case 4: any_command(); break;
      }
      // Every pin a copy takes ends with it.
      if (m_d.domain().gnttab().mapping_count() != 0) __builtin_trap();
    }
  }

  // The grant table commands leave no state outside memory but the table's
  // size (setup_table grows it), put back here; no pins are held (checked
  // above).
  bool left_as_built() {
    if (m_d.domain().gnttab().nr_frames() != GrantTable::kInitialFrames) m_d.reset_grant_table();
    return m_d.domain().gnttab().nr_frames() == GrantTable::kInitialFrames;
  }

 private:
  grant_entry_v1_t* entries() {
    return reinterpret_cast<grant_entry_v1_t*>(m_d.domain().memory().frame(GrantTable::kFirstFrame));
  }

  uint32_t frame_from_input() {
    uint8_t how = m_in.byte();
    if (how & 0x80) return m_in.u32();
    return static_cast<uint32_t>(FuzzDomain::kDataGpa / hosted::kPageSize + how % FuzzDomain::kDataPages);
  }

  void poke_entry() {
    uint32_t ref = m_in.u16() % kMaxRefs;
    grant_entry_v1_t e;
    e.flags = m_in.u16();
    e.domid = m_in.byte() & 1 ? FuzzDomain::kDomid : m_in.u16();
    e.frame = frame_from_input();
    std::memcpy(&entries()[ref], &e, sizeof e);
  }

  void poke_data() {
    unsigned page = m_in.byte() % FuzzDomain::kDataPages;
    uint16_t offset = m_in.u16() % hosted::kPageSize;
    auto bytes = m_in.take(std::min<size_t>(m_in.byte() * 16u, hosted::kPageSize - offset));
    std::memcpy(m_d.at(FuzzDomain::kDataGpa + page * hosted::kPageSize + offset, bytes.size()), bytes.data(),
                bytes.size());
  }

  void fill_side(decltype(gnttab_copy::source)& side, bool gref) {
    uint8_t how = m_in.byte();
    side.domid = how & 1 ? DOMID_SELF : how & 2 ? FuzzDomain::kDomid : m_in.u16();
    if (gref) side.u.ref = how & 4 ? m_in.u32() : m_in.u16() % kMaxRefs;
    else side.u.gmfn = how & 4 ? m_in.u64() : FuzzDomain::kDataGpa / hosted::kPageSize + m_in.byte() % FuzzDomain::kDataPages;
    side.offset = how & 8 ? m_in.u16() : m_in.u16() % hosted::kPageSize;
  }

  void copy() {
    uint8_t n = m_in.byte();
    unsigned count = n & 0x80 ? m_in.u16() : n % 9;
    unsigned written = std::min(count, 64u);
    auto* list = reinterpret_cast<gnttab_copy*>(m_d.at(FuzzDomain::kArgsGpa, 64 * sizeof(gnttab_copy)));
    std::vector<gnttab_copy> asked(written);
    for (unsigned i = 0; i < written; ++i) {
      gnttab_copy& c = asked[i];
      if (m_in.byte() & 1) {
        auto raw = m_in.take(sizeof c);
        std::memset(&c, 0, sizeof c);
        std::memcpy(&c, raw.data(), raw.size());
      } else {
        c.flags = m_in.byte() & (GNTCOPY_source_gref | GNTCOPY_dest_gref);
        fill_side(c.source, c.flags & GNTCOPY_source_gref);
        fill_side(c.dest, c.flags & GNTCOPY_dest_gref);
        c.len = m_in.byte() & 1 ? m_in.u16() : m_in.u16() % (hosted::kPageSize + 1);
      }
      list[i] = c;
    }
    uint64_t addr = m_in.byte() == 0xff ? m_in.u64() : FuzzDomain::gva(FuzzDomain::kArgsGpa);
    // What the entries said before the copy: the rules are checked against them.
    std::vector<grant_entry_v1_t>& before = m_entries_before;
    before.assign(entries(), entries() + kMaxRefs);
    std::vector<uint8_t>& data_before = m_data_before;
    uint8_t* data = m_d.at(FuzzDomain::kDataGpa, FuzzDomain::kDataPages * hosted::kPageSize);
    data_before.assign(data, data + FuzzDomain::kDataPages * hosted::kPageSize);
    auto r = m_d.hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_copy, addr, count);
    if (!r) __builtin_trap();  // a copy never blocks nor ends the domain
    if (*r != 0 || addr != FuzzDomain::gva(FuzzDomain::kArgsGpa)) return;
    // The bytes are compared after the whole list ran, so only for the
    // list's first copy that worked, and only when no later one that worked
    // may have written the same frame.
    bool earlier_done = false;  // an earlier copy in the list may have written the pages
    for (unsigned i = 0; i < written; ++i) {
      bool later_write = false;
      for (unsigned j = i + 1; j < written && !later_write; ++j)
        later_write = list[j].status == GNTST_okay && may_write_same_frame(asked[j], asked[i], before);
      check(asked[i], list[i].status, before, earlier_done || later_write ? nullptr : &data_before);
      earlier_done = earlier_done || list[i].status == GNTST_okay;
    }
  }

  // The frame a copy's destination names: its gmfn, or its grant entry's
  // frame as it was before the list ran; nullopt past the entries kept.
  std::optional<uint64_t> dest_frame(const gnttab_copy& c, const std::vector<grant_entry_v1_t>& before) {
    if (!(c.flags & GNTCOPY_dest_gref)) return c.dest.u.gmfn;
    if (c.dest.u.ref >= kMaxRefs) return std::nullopt;
    return before[c.dest.u.ref].frame;
  }

  // Found by the campaign (crash-7bded9bc): the list's first copy wrote
  // bytes that a later copy in the same list, to a grant whose frame was the
  // same page, overwrote before the check read them. memmove semantics held.
  bool may_write_same_frame(const gnttab_copy& later, const gnttab_copy& c, const std::vector<grant_entry_v1_t>& before) {
    auto a = dest_frame(later, before), b = dest_frame(c, before);
    return !a || !b || *a == *b;
  }

  bool side_allowed(const decltype(gnttab_copy::source)& side, bool gref, bool writing, uint16_t len,
                    const std::vector<grant_entry_v1_t>& before) {
    if (side.domid != DOMID_SELF && side.domid != FuzzDomain::kDomid) return false;
    if (side.offset > hosted::kPageSize || len > hosted::kPageSize - side.offset) return false;
    if (!gref) return side.u.gmfn < FuzzDomain::kPages;
    unsigned table = m_d.domain().gnttab().nr_frames() * gnttab_v1::kEntriesPerFrame;
    if (side.u.ref >= table || side.u.ref >= kMaxRefs) return side.u.ref < table;  // past what we snapshot: trust
    const grant_entry_v1_t& e = before[side.u.ref];
    if ((e.flags & GTF_type_mask) != GTF_permit_access || e.domid != FuzzDomain::kDomid) return false;
    if (writing && (e.flags & GTF_readonly)) return false;
    return e.frame < FuzzDomain::kPages;
  }

  void check(const gnttab_copy& c, int16_t status, const std::vector<grant_entry_v1_t>& before,
             const std::vector<uint8_t>* data_before) {
    if (status != GNTST_okay) return;
    bool src_gref = c.flags & GNTCOPY_source_gref, dst_gref = c.flags & GNTCOPY_dest_gref;
    if (!side_allowed(c.source, src_gref, false, c.len, before)) __builtin_trap();
    if (!side_allowed(c.dest, dst_gref, true, c.len, before)) __builtin_trap();
    // The list's first copy, frame to frame within the data pages: the
    // destination holds the source's bytes as they were.
    if (src_gref || dst_gref || !data_before) return;
    uint64_t first = FuzzDomain::kDataGpa / hosted::kPageSize;
    uint64_t s = c.source.u.gmfn - first, d = c.dest.u.gmfn - first;
    if (s >= FuzzDomain::kDataPages || d >= FuzzDomain::kDataPages) return;
    const uint8_t* dst = m_d.at(FuzzDomain::kDataGpa + d * hosted::kPageSize + c.dest.offset, c.len);
    if (std::memcmp(dst, data_before->data() + s * hosted::kPageSize + c.source.offset, c.len) != 0) __builtin_trap();
  }

  // What copy() snapshots before each copy, kept from one input to the next
  // (the allocation was a tenth of the time).
  static inline std::vector<grant_entry_v1_t> m_entries_before;
  static inline std::vector<uint8_t> m_data_before;

  void setup() {
    struct Args {
      gnttab_setup_table op;
      xen_pfn_t frames[64];
    };
    auto* a = reinterpret_cast<Args*>(m_d.at(FuzzDomain::kArgsGpa, sizeof(Args)));
    a->op.dom = m_in.byte() & 1 ? DOMID_SELF : m_in.u16();
    a->op.nr_frames = m_in.byte() % 41;
    set_xen_guest_handle(a->op.frame_list, reinterpret_cast<xen_pfn_t*>(m_in.byte() == 0xff
                                                                            ? m_in.u64()
                                                                            : FuzzDomain::gva(FuzzDomain::kArgsGpa) + sizeof(a->op)));
    auto r = m_d.hypercall(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, FuzzDomain::gva(FuzzDomain::kArgsGpa), 1);
    if (!r) __builtin_trap();
  }

  void any_command() {
    uint32_t cmd = m_in.byte() & 1 ? m_in.u32() : m_in.byte() % 16;
    auto bytes = m_in.take(m_in.byte());
    std::memcpy(m_d.at(FuzzDomain::kArgsGpa, bytes.size() + 1), bytes.data(), bytes.size());
    uint64_t addr = m_in.byte() == 0xff ? m_in.u64() : FuzzDomain::gva(FuzzDomain::kArgsGpa);
    uint32_t count = m_in.byte() & 1 ? m_in.u32() : 1;
    auto r = m_d.hypercall(__HYPERVISOR_grant_table_op, cmd, addr, count);
    if (!r) __builtin_trap();
  }
};

}  // namespace
}  // namespace atl::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atl::fuzz::run_domain_script<atl::fuzz::GrantCopyScript>(data, size);
}
