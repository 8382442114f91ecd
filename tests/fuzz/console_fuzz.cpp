// libFuzzer target for the console backend's ring steps
// (hypervisor/backends/console_ring.cpp) on a console page the guest shares
// through its reserved grant, mapped through GrantTable as in atoll
// (fuzz_guest.h). The guest writes output and reads input as its frontend
// would, or sets any index to anything; the backend drains output and
// delivers terminal input. While the guest plays fair, the backend must read
// exactly the bytes the guest wrote, in order; once it cheats, the backend
// must only stay inside the page and within the ring sizes.
//
// The input is a script; op & 7:
//   0  the guest rewrites a grant entry (fuzz_guest.h)
//   1  the guest writes output: length, bytes
//   2  the guest sets an index: which (in_cons, in_prod, out_cons, out_prod), u32
//   3  the backend drains the output ring
//   4  the terminal types: length, bytes; the backend delivers them
//   5  the guest reads its input: length
// Seeds: gen_app_corpus.py.
#include <xen/grant_table.h>

#include <cstdlib>
#include <string>

#include "atoll/byte_ring.h"
#include "console_ring.h"
#include "fuzz_guest.h"

namespace atl::hv {
namespace {

using fuzz::FuzzGuest;
using fuzz::FuzzInput;

constexpr unsigned kConsolePage = 3;  // hosted::kConsolePageGpa

void run(const uint8_t* data, size_t size) {
  FuzzGuest& guest = FuzzGuest::instance();
  GrantTable& gt = guest.reset();
  guest.grant(GNTTAB_RESERVED_CONSOLE, kConsolePage, false);
  auto map = gt.map(GrantRef(GNTTAB_RESERVED_CONSOLE), DomId(0), true);
  if (!map.ok()) std::abort();
  auto* intf = reinterpret_cast<xencons_interface*>(map->page.data());
  // The guest's own view of its rings (its frontend, console_front.cpp).
  ByteRingView<sizeof intf->out> guest_out(intf->out, &intf->out_cons, &intf->out_prod);
  ByteRingView<sizeof intf->in> guest_in(intf->in, &intf->in_cons, &intf->in_prod);

  std::string written;   // output the guest wrote and the backend has not read
  std::string pending;   // terminal input not delivered yet
  bool fair = true;      // the guest never touched an index by hand
  bool broken = false;   // the backend found corrupt indices and stopped
  FuzzInput in(data, size);
  while (!in.empty()) {
    switch (in.byte() & 7) {
      case 0: guest.poke_entry(in); break;
      case 1: {
        auto bytes = in.take(in.byte() * 16u);
        size_t n = guest_out.sane() ? guest_out.write(bytes.data(), bytes.size()) : 0;
        written.append(reinterpret_cast<const char*>(bytes.data()), n);
        break;
      }
      case 2: {
        volatile uint32_t* idx[] = {&intf->in_cons, &intf->in_prod, &intf->out_cons, &intf->out_prod};
        *idx[in.byte() & 3] = in.u32();
        fair = false;
        break;
      }
      case 3: {
        if (broken) break;
        char out[sizeof intf->out];
        auto n = read_console_output(*intf, out);
        if (!n) {
          if (fair) std::abort();  // a fair guest's indices called corrupt
          broken = true;
          break;
        }
        if (*n > sizeof out) std::abort();
        if (fair) {
          if (written.compare(0, *n, out, *n) != 0) std::abort();  // not what the guest wrote
          written.erase(0, *n);
          if (!written.empty()) std::abort();  // everything written fits the ring, so all of it is read
        }
        break;
      }
      case 4: {
        auto bytes = in.take(in.byte() * 16u);
        pending.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        if (broken) break;
        auto n = write_console_input(*intf, pending);
        if (!n) {
          if (fair) std::abort();
          broken = true;
          break;
        }
        if (*n > pending.size() || *n > sizeof intf->in) std::abort();
        pending.erase(0, *n);
        break;
      }
      case 5: {
        char sink[sizeof intf->in];
        size_t want = std::min<size_t>(in.byte() * 8u, sizeof sink);
        if (guest_in.sane()) guest_in.read(sink, want);
        break;
      }
      default: break;
    }
  }
  gt.unmap(map->handle);
}

}  // namespace
}  // namespace atl::hv

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  atl::hv::run(data, size);
  return 0;
}
