// Grants on both sides of the ABI: the guest's ref allocator, the v1 entry
// transitions (grant, acquire, release, end access), and the hypervisor's
// GrantTable with its pins, checked copies and hostile refs and frames.
#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "atoll/gnttab_v1.h"
#include "atoll/grant_allocator.h"
#include "gnttab.h"

namespace atl {
namespace {

TEST(GrantAllocator, NeverHandsOutReservedRefs) {
  GrantAllocator a;
  ASSERT_TRUE(a.grow(64));
  EXPECT_EQ(a.free_count(), 64u - GrantAllocator::kReserved);
  std::set<uint32_t> seen;
  for (;;) {
    auto r = a.allocate();
    if (!r.ok()) {
      EXPECT_EQ(r.error(), Errno::kNoSpc);
      break;
    }
    EXPECT_GE(r->value(), GrantAllocator::kReserved);
    EXPECT_LT(r->value(), 64u);
    EXPECT_TRUE(seen.insert(r->value()).second) << "ref handed out twice";
  }
  EXPECT_EQ(seen.size(), 56u);
  EXPECT_EQ(a.free_count(), 0u);
}

TEST(GrantAllocator, ReleaseRefusesReservedForeignAndDoubleFrees) {
  GrantAllocator a;
  ASSERT_TRUE(a.grow(16));
  auto r = a.allocate();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(a.release(GrantRef(0)));
  EXPECT_FALSE(a.release(GrantRef(7)));
  EXPECT_FALSE(a.release(GrantRef(16)));
  EXPECT_TRUE(a.release(*r));
  EXPECT_FALSE(a.release(*r)) << "double free accepted";
  EXPECT_EQ(a.free_count(), 8u);
}

TEST(GrantAllocator, GrowKeepsAllocatedRefsAndAddsNewOnes) {
  GrantAllocator a;
  ASSERT_TRUE(a.grow(10));
  auto r1 = a.allocate();
  auto r2 = a.allocate();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_FALSE(a.allocate().ok());
  ASSERT_TRUE(a.grow(20));
  EXPECT_EQ(a.free_count(), 10u);
  EXPECT_FALSE(a.release(GrantRef(15))) << "a fresh ref is already free";
  EXPECT_TRUE(a.release(*r1));
  EXPECT_EQ(a.free_count(), 11u);
}

TEST(GrantEntryV1, GrantThenAcquireReleaseEnd) {
  grant_entry_v1_t e{};
  gnttab_v1::grant(&e, 0, 1234, false);
  EXPECT_EQ(e.flags, GTF_permit_access);
  EXPECT_EQ(e.frame, 1234u);
  EXPECT_EQ(gnttab_v1::acquire(&e, 0, false), gnttab_v1::Acquire::kOk);
  EXPECT_EQ(e.flags & (GTF_reading | GTF_writing), GTF_reading | GTF_writing);
  EXPECT_FALSE(gnttab_v1::end_access(&e)) << "revoked while in use";
  EXPECT_EQ(e.flags & GTF_permit_access, GTF_permit_access);
  gnttab_v1::release(&e, false, false);
  EXPECT_EQ(e.flags, GTF_permit_access);
  EXPECT_TRUE(gnttab_v1::end_access(&e));
  EXPECT_EQ(e.flags, 0);
  EXPECT_EQ(gnttab_v1::acquire(&e, 0, true), gnttab_v1::Acquire::kBadRef) << "acquired an ended grant";
}

TEST(GrantEntryV1, AcquireChecksGranteeAndDirection) {
  grant_entry_v1_t e{};
  gnttab_v1::grant(&e, 5, 1, true);
  EXPECT_EQ(gnttab_v1::acquire(&e, 6, true), gnttab_v1::Acquire::kBadRef);
  EXPECT_EQ(gnttab_v1::acquire(&e, 5, false), gnttab_v1::Acquire::kDenied);
  EXPECT_EQ(gnttab_v1::acquire(&e, 5, true), gnttab_v1::Acquire::kOk);
  EXPECT_EQ(e.flags & GTF_writing, 0);
  grant_entry_v1_t transitive{};
  transitive.flags = GTF_transitive;
  EXPECT_EQ(gnttab_v1::acquire(&transitive, 0, true), gnttab_v1::Acquire::kBadRef);
}

TEST(GrantEntryV1, ReleaseKeepsBitsOtherUsersNeed) {
  grant_entry_v1_t e{};
  gnttab_v1::grant(&e, 0, 1, false);
  ASSERT_EQ(gnttab_v1::acquire(&e, 0, false), gnttab_v1::Acquire::kOk);
  gnttab_v1::release(&e, true, false);  // a reader remains
  EXPECT_EQ(e.flags & (GTF_reading | GTF_writing), GTF_reading);
  EXPECT_FALSE(gnttab_v1::end_access(&e));
}

namespace hvtest {

using hv::GrantStatus;
using hv::GrantTable;
using hv::GuestMemory;

class GrantTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    auto m = GuestMemory::try_create(1 << 20, error);
    ASSERT_TRUE(m.has_value()) << error;
    m_mem.emplace(std::move(*m));
    m_table.emplace(*m_mem, DomId(1));
    std::memset(m_mem->ram_at(5 * 4096), 0xAB, 4096);
  }
  grant_entry_v1_t* entry(uint32_t ref) {
    return reinterpret_cast<grant_entry_v1_t*>(m_mem->frame(GrantTable::kFirstFrame)) + ref;
  }
  std::optional<GuestMemory> m_mem;
  std::optional<GrantTable> m_table;
};

TEST_F(GrantTableTest, MapPinsTheEntryUntilUnmapped) {
  gnttab_v1::grant(entry(10), 0, 5, false);
  auto a = m_table->map(GrantRef(10), DomId(0), true);
  auto b = m_table->map(GrantRef(10), DomId(0), false);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->page.data(), m_mem->ram_at(5 * 4096));
  EXPECT_EQ(a->page[17], 0xAB);
  EXPECT_FALSE(gnttab_v1::end_access(entry(10)));
  EXPECT_EQ(m_table->unmap(a->handle), GrantStatus::kOkay);
  EXPECT_EQ(entry(10)->flags & GTF_writing, 0) << "writing bit outlived the writable mapping";
  EXPECT_FALSE(gnttab_v1::end_access(entry(10))) << "read mapping still held";
  EXPECT_EQ(m_table->unmap(b->handle), GrantStatus::kOkay);
  EXPECT_TRUE(gnttab_v1::end_access(entry(10)));
  EXPECT_EQ(m_table->unmap(b->handle), GrantStatus::kBadHandle);
  EXPECT_EQ(m_table->mapping_count(), 0u);
}

TEST_F(GrantTableTest, RejectsHostileRefsAndFrames) {
  GrantStatus st;
  EXPECT_FALSE(m_table->map(GrantRef(512), DomId(0), false, &st).ok()) << "ref past the one initial frame";
  EXPECT_EQ(st, GrantStatus::kBadGntref);
  EXPECT_FALSE(m_table->map(GrantRef(0xFFFFFFFF), DomId(0), false, &st).ok());
  gnttab_v1::grant(entry(11), 0, 256, false);  // one frame past 1 MiB of RAM
  EXPECT_FALSE(m_table->map(GrantRef(11), DomId(0), false, &st).ok());
  EXPECT_EQ(st, GrantStatus::kBadPage);
  EXPECT_TRUE(gnttab_v1::end_access(entry(11))) << "a failed map left the entry busy";
  gnttab_v1::grant(entry(12), 0, static_cast<uint32_t>(GrantTable::frame_gfn(0)), false);
  EXPECT_FALSE(m_table->map(GrantRef(12), DomId(0), true, &st).ok()) << "granted a hypervisor frame";
  EXPECT_EQ(st, GrantStatus::kBadPage);
  EXPECT_TRUE(gnttab_v1::end_access(entry(12))) << "a failed map left the entry busy";
}

TEST_F(GrantTableTest, CopiesAreBoundsChecked) {
  gnttab_v1::grant(entry(20), 0, 5, false);
  uint8_t buf[64];
  EXPECT_EQ(m_table->copy_from(GrantRef(20), DomId(0), 4032, {buf, 64}), GrantStatus::kOkay);
  EXPECT_EQ(buf[63], 0xAB);
  EXPECT_EQ(m_table->copy_from(GrantRef(20), DomId(0), 4033, {buf, 64}), GrantStatus::kBadCopyArg);
  EXPECT_EQ(m_table->copy_from(GrantRef(20), DomId(0), 0xFFFFFFFF, {buf, 64}), GrantStatus::kBadCopyArg);
  std::memset(buf, 0x11, sizeof buf);
  EXPECT_EQ(m_table->copy_to(GrantRef(20), DomId(0), 0, {buf, 64}), GrantStatus::kOkay);
  EXPECT_EQ(m_mem->ram_at(5 * 4096)[0], 0x11);
  EXPECT_TRUE(gnttab_v1::end_access(entry(20))) << "a copy left the entry busy";
  EXPECT_EQ(m_table->copy_from(GrantRef(20), DomId(0), 0, {buf, 8}), GrantStatus::kBadGntref);
}

TEST_F(GrantTableTest, ReadsInPlaceHoldTheEntryUntilTheLastEnds) {
  gnttab_v1::grant(entry(21), 0, 5, true);
  std::span<const uint8_t> a, b;
  ASSERT_EQ(m_table->begin_read(GrantRef(21), DomId(0), 4032, 64, &a), GrantStatus::kOkay);
  EXPECT_EQ(a.data(), m_mem->ram_at(5 * 4096) + 4032);
  EXPECT_EQ(a.size(), 64u);
  // A packet naming the same grant twice: two reads of one entry.
  ASSERT_EQ(m_table->begin_read(GrantRef(21), DomId(0), 0, 4096, &b), GrantStatus::kOkay);
  EXPECT_FALSE(gnttab_v1::end_access(entry(21))) << "the guest ended a grant being read";
  m_table->end_read(GrantRef(21));
  EXPECT_FALSE(gnttab_v1::end_access(entry(21))) << "the first end released the second read";
  m_table->end_read(GrantRef(21));
  EXPECT_TRUE(gnttab_v1::end_access(entry(21)));
}

TEST_F(GrantTableTest, ReadsInPlaceAreCheckedLikeCopies) {
  gnttab_v1::grant(entry(22), 0, 5, true);
  std::span<const uint8_t> s;
  EXPECT_EQ(m_table->begin_read(GrantRef(22), DomId(0), 4033, 64, &s), GrantStatus::kBadCopyArg);
  EXPECT_EQ(m_table->begin_read(GrantRef(22), DomId(0), 0xFFFFFFFF, 1, &s), GrantStatus::kBadCopyArg);
  EXPECT_EQ(m_table->begin_read(GrantRef(22), DomId(0), 0, 0xFFFFFFFF, &s), GrantStatus::kBadCopyArg);
  EXPECT_EQ(m_table->begin_read(GrantRef(22), DomId(3), 0, 8, &s), GrantStatus::kBadGntref) << "another grantee";
  EXPECT_EQ(m_table->begin_read(GrantRef(512), DomId(0), 0, 8, &s), GrantStatus::kBadGntref);
  gnttab_v1::grant(entry(23), 0, 256, true);  // past the end of RAM
  EXPECT_EQ(m_table->begin_read(GrantRef(23), DomId(0), 0, 8, &s), GrantStatus::kBadPage);
  EXPECT_TRUE(gnttab_v1::end_access(entry(22))) << "a refused read left the entry busy";
  EXPECT_TRUE(gnttab_v1::end_access(entry(23))) << "a refused read left the entry busy";
}

TEST_F(GrantTableTest, SetupGrowsButNeverShrinksOrOverflows) {
  uint64_t gfns[GrantTable::kMaxFrames];
  EXPECT_EQ(m_table->setup(4, gfns), GrantStatus::kOkay);
  EXPECT_EQ(m_table->nr_frames(), 4u);
  EXPECT_EQ(gfns[3], gfns[0] + 3);
  EXPECT_EQ(m_table->setup(2, gfns), GrantStatus::kOkay);
  EXPECT_EQ(m_table->nr_frames(), 4u);
  EXPECT_EQ(m_table->setup(GrantTable::kMaxFrames + 1, gfns), GrantStatus::kGeneralError);
  gnttab_v1::grant(entry(2047), 0, 5, true);
  EXPECT_TRUE(m_table->map(GrantRef(2047), DomId(0), false).ok()) << "ref in frame 3 after growing";
}

}  // namespace hvtest
}  // namespace
}  // namespace atl
