// libFuzzer target for HYPERVISOR_multicall as a guest makes it: the list's
// address and length and every entry in it (op, arguments, and the structs
// those point to) are the guest's, read through the checked accessor
// (fuzz_domain.h). The calls a multicall may hold reach the real handlers:
// event_channel_op (every command, with any argument struct), set_timer_op,
// and sched_op (SCHEDOP_block as the last entry, anything else refused).
//
// Beyond "no crash, no sanitizer report", the rules are checked from the
// outside: more than 32 entries is -EINVAL with no entry run; a multicall
// never ends the domain; only a SCHEDOP_block in the last entry blocks; a
// call a multicall may not hold gets -ENOSYS in its entry and a sched_op
// other than that block -EINVAL; every entry before the end has its result.
//
// The input is a script; op % 3:
//   0  the guest writes argument bytes into the arguments pages
//   1  a multicall: count, then each entry (one of the calls above with
//      semi-structured arguments, or raw), and the list's address
//   2  event_channel_op alone, any command, with the same arguments
// Seeds: gen_hypercall_corpus.py.
#include <xen/event_channel.h>
#include <xen/sched.h>
#include <xen/xen.h>

#include <cerrno>
#include <cstring>

#include "fuzz_domain.h"
#include "fuzz_input.h"

namespace atl::fuzz {
namespace {

constexpr uint64_t kListGpa = FuzzDomain::kArgsGpa;
constexpr uint64_t kStructsGpa = FuzzDomain::kDataGpa;  // what the entries' pointers name
constexpr uint64_t kStructsBytes = 4 * hosted::kPageSize;
constexpr uint64_t kMaxCalls = 32;
constexpr xen_ulong_t kUnset = 0x5a5a5a5a5a5a5a5aULL;

class MulticallScript : public DomainScript {
 public:
  MulticallScript(FuzzInput& in, FuzzDomain& d) : DomainScript(in, d) {}

  void run() {
    while (!m_in.empty()) {
      switch (m_in.byte() % 3) {
        case 0: poke_structs(); break;
        case 1: multicall(); break;
        case 2: event_channel_op(); break;
      }
      if (m_d.domain().ended()) __builtin_trap();
    }
  }

  // What these calls leave outside memory: event channels, the timer (and a
  // poll's timeout), a block. The guest's own set_timer_op(0) disarms the
  // timer and its EVTCHNOP_close closes the ports it opened, as a guest
  // would; the rest must be as built, or a new domain.
  bool left_as_built() {
    if (!m_d.hypercall(__HYPERVISOR_set_timer_op, 0)) __builtin_trap();
    m_d.close_new_channels();
    return m_d.channels_as_built() && !m_d.domain().blocked();
  }

 private:
  void poke_structs() {
    uint16_t offset = m_in.u16() % kStructsBytes;
    auto bytes = m_in.take(std::min<size_t>(m_in.byte(), kStructsBytes - offset));
    std::memcpy(m_d.at(kStructsGpa + offset, bytes.size() + 1), bytes.data(), bytes.size());
  }

  // A pointer argument: mostly into the structs the input wrote, sometimes anything.
  uint64_t pointer() {
    uint8_t how = m_in.byte();
    if (how == 0xff) return m_in.u64();
    return FuzzDomain::gva(kStructsGpa) + (how & 0x7f) * 32u;
  }

  void fill_entry(multicall_entry& e) {
    std::memset(&e, 0, sizeof e);
    switch (m_in.byte() % 5) {
      case 0:
        e.op = __HYPERVISOR_event_channel_op;
        e.args[0] = m_in.byte() % 16;
        e.args[1] = pointer();
        break;
      case 1:
        e.op = __HYPERVISOR_set_timer_op;
        e.args[0] = m_in.u64();
        break;
      case 2:
        e.op = __HYPERVISOR_sched_op;
        e.args[0] = m_in.byte() % 6;  // yield, block, shutdown, poll, remote_shutdown, shutdown_code
        e.args[1] = pointer();
        break;
      case 3: {
        auto raw = m_in.take(sizeof e);
        std::memcpy(&e, raw.data(), raw.size());
        break;
      }
      default:
        e.op = m_in.byte();  // any hypercall number
        for (auto& a : e.args) a = m_in.byte() & 1 ? pointer() : m_in.u32();
        break;
    }
    e.result = kUnset;
  }

  void multicall() {
    uint8_t n = m_in.byte();
    uint64_t count = n & 0x80 ? m_in.u32() : n % (kMaxCalls + 2);
    uint64_t written = std::min<uint64_t>(count, kMaxCalls + 1);
    auto* list = reinterpret_cast<multicall_entry*>(m_d.at(kListGpa, (kMaxCalls + 1) * sizeof(multicall_entry)));
    for (uint64_t i = 0; i < written; ++i) fill_entry(list[i]);
    multicall_entry asked[kMaxCalls + 1];
    std::memcpy(asked, list, written * sizeof *list);
    uint64_t addr = m_in.byte() == 0xff ? m_in.u64() : FuzzDomain::gva(kListGpa);
    auto r = m_d.hypercall(__HYPERVISOR_multicall, addr, count);
    if (addr != FuzzDomain::gva(kListGpa)) return;  // anywhere else: only "no crash"
    if (count > kMaxCalls) {
      if (!r || *r != -EINVAL) __builtin_trap();
      for (uint64_t i = 0; i < written; ++i)
        if (list[i].result != kUnset) __builtin_trap();  // nothing ran
      return;
    }
    bool blocks = count > 0 && asked[count - 1].op == __HYPERVISOR_sched_op && asked[count - 1].args[0] == SCHEDOP_block;
    if (!r && !blocks) __builtin_trap();
    if (r && *r != 0) __builtin_trap();  // the list is readable: every entry gets its own result
    for (uint64_t i = 0; i < count; ++i) {
      const multicall_entry& e = asked[i];
      long result = static_cast<long>(list[i].result);
      if (list[i].result == kUnset) __builtin_trap();
      bool allowed = e.op == __HYPERVISOR_event_channel_op || e.op == __HYPERVISOR_set_timer_op ||
                     e.op == __HYPERVISOR_sched_op;
      if (!allowed && result != -ENOSYS) __builtin_trap();
      if (e.op == __HYPERVISOR_sched_op && !(e.args[0] == SCHEDOP_block && i + 1 == count) && result != -EINVAL)
        __builtin_trap();
    }
  }

  void event_channel_op() {
    uint64_t cmd = m_in.byte() & 1 ? m_in.u64() : m_in.byte() % 16;
    auto r = m_d.hypercall(__HYPERVISOR_event_channel_op, cmd, pointer());
    if (!r || *r > 0) __builtin_trap();  // 0 or an error, and never a block
  }
};

}  // namespace
}  // namespace atl::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return atl::fuzz::run_domain_script<atl::fuzz::MulticallScript>(data, size);
}
