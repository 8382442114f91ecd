// Typed handles, ring indices and Result<T>: every operator, plus the conversions
// that must not compile.
#include <gtest/gtest.h>

#include <string>
#include <type_traits>

#include "atoll/result.h"
#include "atoll/types.h"

namespace atl {
namespace {

// A port is not a grant ref is not a domain id: no implicit conversion from the raw
// integer, none between tags, and no truthiness.
static_assert(!std::is_convertible_v<uint32_t, EvtchnPort>);
static_assert(!std::is_convertible_v<uint32_t, GrantRef>);
static_assert(!std::is_convertible_v<uint16_t, DomId>);
static_assert(!std::is_convertible_v<uint64_t, Gfn>);
static_assert(!std::is_convertible_v<uint32_t, RingIdx>);
static_assert(!std::is_convertible_v<EvtchnPort, GrantRef>);
static_assert(!std::is_convertible_v<GrantRef, EvtchnPort>);
static_assert(!std::is_convertible_v<EvtchnPort, Virq>);
static_assert(!std::is_constructible_v<GrantRef, EvtchnPort>);
static_assert(!std::is_constructible_v<EvtchnPort, GrantRef>);
static_assert(!std::is_constructible_v<DomId, EvtchnPort>);
static_assert(!std::is_constructible_v<RingIdx, EvtchnPort>);
static_assert(!std::is_convertible_v<EvtchnPort, uint32_t>);
static_assert(!std::is_convertible_v<EvtchnPort, bool>);
static_assert(!std::is_constructible_v<bool, EvtchnPort>);
static_assert(!std::is_convertible_v<RingIdx, bool>);
static_assert(!std::is_constructible_v<bool, RingIdx>);
// Explicit construction from the raw integer is the one way in.
static_assert(std::is_constructible_v<EvtchnPort, uint32_t>);
static_assert(std::is_constructible_v<RingIdx, uint32_t>);
// Handles stay as cheap as the integer they wrap.
static_assert(sizeof(EvtchnPort) == sizeof(uint32_t));
static_assert(sizeof(DomId) == sizeof(uint16_t));
static_assert(sizeof(Gfn) == sizeof(uint64_t));
static_assert(sizeof(RingIdx) == sizeof(uint32_t));
static_assert(std::is_trivially_copyable_v<EvtchnPort> && std::is_trivially_copyable_v<RingIdx>);
// Ports only compare: no arithmetic.
template <typename T>
concept Addable = requires(T a) { a + 1u; };
template <typename T>
concept Incrementable = requires(T a) { ++a; };
static_assert(!Addable<EvtchnPort> && !Incrementable<EvtchnPort>);
static_assert(!Addable<GrantRef> && !Addable<Gfn>);
static_assert(Addable<RingIdx> && Incrementable<RingIdx>);
// The helpers are usable in constant expressions.
static_assert(EvtchnPort(3) == EvtchnPort(3) && EvtchnPort(3) < EvtchnPort(4));
static_assert(RingIdx(0).distance_from(RingIdx(0xFFFFFFFFu)) == 1);

TEST(Handle, ValueRoundTrips) {
  EXPECT_EQ(EvtchnPort(7).value(), 7u);
  EXPECT_EQ(DomId(0xFFFF).value(), 0xFFFFu);
  EXPECT_EQ(Gfn(0x123456789ABCull).value(), 0x123456789ABCull);
  EXPECT_EQ(GrantRef(0xFFFFFFFFu).value(), 0xFFFFFFFFu);
  EXPECT_EQ(Virq(1).value(), 1u);
  EXPECT_EQ(kDomidSelf.value(), 0x7FF0);
}

TEST(Handle, Equality) {
  EXPECT_TRUE(EvtchnPort(1) == EvtchnPort(1));
  EXPECT_FALSE(EvtchnPort(1) == EvtchnPort(2));
  EXPECT_TRUE(EvtchnPort(1) != EvtchnPort(2));
  EXPECT_FALSE(EvtchnPort(1) != EvtchnPort(1));
  EXPECT_TRUE(Gfn(1ull << 40) == Gfn(1ull << 40));
  EXPECT_TRUE(Gfn(1ull << 40) != Gfn(1));
}

TEST(Handle, LessThanIsStrict) {
  EXPECT_TRUE(GrantRef(1) < GrantRef(2));
  EXPECT_FALSE(GrantRef(2) < GrantRef(1));
  EXPECT_FALSE(GrantRef(2) < GrantRef(2));
  EXPECT_TRUE(DomId(0) < DomId(0xFFFF));
  // Unsigned ordering: the top value is the largest, not negative.
  EXPECT_TRUE(EvtchnPort(0) < EvtchnPort(0xFFFFFFFFu));
}

TEST(Handle, CopiesCompareEqual) {
  GrantRef a(42);
  GrantRef b = a;
  EXPECT_EQ(a, b);
  b = GrantRef(43);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.value(), 42u);
}

TEST(RingIdx, ArithmeticOperators) {
  RingIdx i(10);
  EXPECT_EQ((i + 5).value(), 15u);
  EXPECT_EQ(i.value(), 10u) << "operator+ must not modify its operand";
  RingIdx& ref = (i += 3);
  EXPECT_EQ(&ref, &i);
  EXPECT_EQ(i.value(), 13u);
  RingIdx& pre = ++i;
  EXPECT_EQ(&pre, &i);
  EXPECT_EQ(i.value(), 14u);
}

TEST(RingIdx, Comparison) {
  EXPECT_TRUE(RingIdx(5) == RingIdx(5));
  EXPECT_FALSE(RingIdx(5) == RingIdx(6));
  EXPECT_TRUE(RingIdx(5) != RingIdx(6));
  EXPECT_FALSE(RingIdx(5) != RingIdx(5));
}

TEST(RingIdx, WrapsAround) {
  RingIdx i(0xFFFFFFFFu);
  ++i;
  EXPECT_EQ(i.value(), 0u);
  EXPECT_EQ((RingIdx(0xFFFFFFF0u) + 0x20).value(), 0x10u);
  RingIdx j(0xFFFFFFFEu);
  j += 5;
  EXPECT_EQ(j.value(), 3u);
}

TEST(RingIdx, DistanceAcrossWrap) {
  RingIdx cons(0xFFFFFFF0u);
  RingIdx prod = cons + 0x20;  // wrapped to 0x10
  EXPECT_EQ(prod.distance_from(cons), 0x20u);
  EXPECT_EQ(RingIdx(3).distance_from(RingIdx(0xFFFFFFFDu)), 6u);
  EXPECT_EQ(RingIdx(100).distance_from(RingIdx(100)), 0u);
  EXPECT_EQ(RingIdx(100).distance_from(RingIdx(40)), 60u);
  // Backwards is "almost a full lap", not negative.
  EXPECT_EQ(RingIdx(40).distance_from(RingIdx(100)), 0xFFFFFFFFu - 59u);
}

TEST(RingIdx, DistanceIsStableForEveryStartNearWrap) {
  for (uint32_t start = 0xFFFFFF00u; start != 0x100u; ++start) {
    RingIdx a(start);
    RingIdx b = a + 256;
    ASSERT_EQ(b.distance_from(a), 256u) << "start " << start;
  }
}

TEST(RingIdx, SlotMasksByRingSize) {
  EXPECT_EQ(RingIdx(0).slot(256), 0u);
  EXPECT_EQ(RingIdx(255).slot(256), 255u);
  EXPECT_EQ(RingIdx(256).slot(256), 0u);
  EXPECT_EQ(RingIdx(257).slot(32), 1u);
  EXPECT_EQ(RingIdx(0xFFFFFFFFu).slot(256), 255u);
  EXPECT_EQ(RingIdx(0xFFFFFFFFu).slot(32), 31u);
  EXPECT_EQ(RingIdx(1234).slot(1), 0u);
  // Consecutive indices through the wrap visit consecutive slots.
  RingIdx i(0xFFFFFFFEu);
  EXPECT_EQ(i.slot(32), 30u);
  ++i;
  EXPECT_EQ(i.slot(32), 31u);
  ++i;
  EXPECT_EQ(i.slot(32), 0u);
  ++i;
  EXPECT_EQ(i.slot(32), 1u);
}

// Result<T> ----------------------------------------------------------------

// Counts live instances so copies, moves and assignments can be checked for leaks
// and double destruction.
struct Tracked {
  static inline int live = 0;
  int v;
  explicit Tracked(int x) : v(x) { ++live; }
  Tracked(const Tracked& o) : v(o.v) { ++live; }
  Tracked(Tracked&& o) noexcept : v(o.v) { o.v = -1; ++live; }
  ~Tracked() { --live; }
};

TEST(Result, HoldsValue) {
  Result<int> r(5);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value(), 5);
  EXPECT_EQ(*r, 5);
  *r = 6;
  EXPECT_EQ(r.value(), 6);
  const Result<int>& cr = r;
  EXPECT_EQ(cr.value(), 6);
}

TEST(Result, HoldsError) {
  Result<int> r(Errno::kNoSpc);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kNoSpc);
}

TEST(Result, ArrowReachesMembers) {
  Result<std::string> r(std::string("hello"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 5u);
  const Result<std::string>& cr = r;
  EXPECT_EQ(cr->front(), 'h');
}

TEST(Result, RvalueValueMovesOut) {
  Result<std::string> r(std::string(100, 'x'));
  std::string s = std::move(r).value();
  EXPECT_EQ(s, std::string(100, 'x'));
}

TEST(Result, CopyAndMoveKeepTheAlternative) {
  Result<std::string> ok(std::string("v"));
  Result<std::string> err(Errno::kAgain);
  Result<std::string> ok_copy(ok);
  Result<std::string> err_copy(err);
  EXPECT_TRUE(ok_copy.ok());
  EXPECT_EQ(ok_copy.value(), "v");
  EXPECT_EQ(ok.value(), "v");
  EXPECT_FALSE(err_copy.ok());
  EXPECT_EQ(err_copy.error(), Errno::kAgain);
  Result<std::string> ok_moved(std::move(ok_copy));
  Result<std::string> err_moved(std::move(err_copy));
  EXPECT_EQ(ok_moved.value(), "v");
  EXPECT_EQ(err_moved.error(), Errno::kAgain);
}

TEST(Result, AssignmentSwitchesAlternativeWithoutLeaking) {
  ASSERT_EQ(Tracked::live, 0);
  {
    Result<Tracked> r(Tracked(1));
    EXPECT_EQ(Tracked::live, 1);
    r = Result<Tracked>(Errno::kInval);  // value -> error destroys the value
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.error(), Errno::kInval);
    EXPECT_EQ(Tracked::live, 0);
    r = Result<Tracked>(Tracked(2));  // error -> value
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->v, 2);
    EXPECT_EQ(Tracked::live, 1);
    Result<Tracked> other(Tracked(3));
    r = other;  // value -> value (copy)
    EXPECT_EQ(r->v, 3);
    EXPECT_EQ(other->v, 3);
    EXPECT_EQ(Tracked::live, 2);
    r = r;  // self-assignment keeps the value
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->v, 3);
    EXPECT_EQ(Tracked::live, 2);
    Result<Tracked> moved(std::move(other));
    EXPECT_EQ(moved->v, 3);
    EXPECT_EQ(Tracked::live, 3);  // the moved-from object is still alive until scope end
  }
  EXPECT_EQ(Tracked::live, 0);
}

TEST(Result, VoidSuccessAndError) {
  Result<void> ok;
  EXPECT_TRUE(ok.ok());
  Result<void> err(Errno::kBusy);
  EXPECT_FALSE(err.ok());
  EXPECT_EQ(err.error(), Errno::kBusy);
  Result<void> copy = err;
  EXPECT_EQ(copy.error(), Errno::kBusy);
  copy = ok;
  EXPECT_TRUE(copy.ok());
}

Result<void> fails_with(Errno e) { return e; }
Result<void> succeeds() { return {}; }

TEST(Result, VoidFromFunctionReturn) {
  EXPECT_TRUE(succeeds().ok());
  auto r = fails_with(Errno::kNoDev);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Errno::kNoDev);
}

TEST(Result, ErrnoValuesAreXens) {
  // xen/errno.h, which matches Linux on x86.
  EXPECT_EQ(to_int(Errno::kPerm), 1);
  EXPECT_EQ(to_int(Errno::kNoEnt), 2);
  EXPECT_EQ(to_int(Errno::kAgain), 11);
  EXPECT_EQ(to_int(Errno::kNoMem), 12);
  EXPECT_EQ(to_int(Errno::kFault), 14);
  EXPECT_EQ(to_int(Errno::kExist), 17);
  EXPECT_EQ(to_int(Errno::kInval), 22);
  EXPECT_EQ(to_int(Errno::kNoSpc), 28);
  EXPECT_EQ(to_int(Errno::kNoSys), 38);
  EXPECT_EQ(to_int(Errno::kTooBig), 7);
  EXPECT_EQ(to_int(Errno::kOverflow), 75);
  EXPECT_EQ(to_int(Errno::kOpNotSupp), 95);
  EXPECT_EQ(to_int(Errno::kTimedOut), 110);
}

TEST(Result, FromXenSuccessKeepsTheReturnValue) {
  auto zero = from_xen(0);
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero.value(), 0);
  auto positive = from_xen(4096);
  ASSERT_TRUE(positive.ok());
  EXPECT_EQ(positive.value(), 4096);
}

TEST(Result, FromXenMapsNegativeErrno) {
  auto inval = from_xen(-22);
  ASSERT_FALSE(inval.ok());
  EXPECT_EQ(inval.error(), Errno::kInval);
  auto perm = from_xen(-1);
  ASSERT_FALSE(perm.ok());
  EXPECT_EQ(perm.error(), Errno::kPerm);
  auto nosys = from_xen(-38);
  ASSERT_FALSE(nosys.ok());
  EXPECT_EQ(nosys.error(), Errno::kNoSys);
}

}  // namespace
}  // namespace atl
