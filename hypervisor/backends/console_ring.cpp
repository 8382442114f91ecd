#include "console_ring.h"

#include "atoll/byte_ring.h"

namespace atl::hv {

// ABI: xen/io/console.h: in[1024], out[2048], then the four indices.
static_assert(sizeof(xencons_interface::in) == 1024 && sizeof(xencons_interface::out) == 2048);

std::optional<size_t> read_console_output(xencons_interface& intf, std::span<char, sizeof(xencons_interface::out)> out) {
  ByteRingView<sizeof intf.out> ring(intf.out, &intf.out_cons, &intf.out_prod);
  if (!ring.sane()) return std::nullopt;
  return ring.read(out.data(), out.size());
}

std::optional<size_t> write_console_input(xencons_interface& intf, std::string_view input) {
  ByteRingView<sizeof intf.in> ring(intf.in, &intf.in_cons, &intf.in_prod);
  if (!ring.sane()) return std::nullopt;
  return ring.write(input.data(), input.size());
}

}  // namespace atl::hv
