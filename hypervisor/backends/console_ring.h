// The console backend's two ring steps (xen/io/console.h, struct
// xencons_interface), apart from the domain so they are fuzzed on their own
// (tests/fuzz/console_fuzz.cpp). The page is the guest's: its indices are
// hostile, and a ring whose indices cannot be right is reported, not read.
#pragma once

#include <xen/io/console.h>

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace atl::hv {

// Takes what the guest wrote to its output ring into `out` (all of it fits:
// out is at least the ring's size); nullopt when the indices are corrupt.
std::optional<size_t> read_console_output(xencons_interface& intf, std::span<char, sizeof(xencons_interface::out)> out);
// Puts as much of `input` as fits into the guest's input ring; nullopt when
// the indices are corrupt.
std::optional<size_t> write_console_input(xencons_interface& intf, std::string_view input);

}  // namespace atl::hv
