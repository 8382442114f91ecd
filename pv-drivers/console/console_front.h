// The PV console frontend (xen/io/console.h): the guest's stdout/stderr and stdin
// over the console ring once it is up; before that (and in a panic) output goes
// through the console_io hypercall.
#pragma once

#include <stddef.h>

#include "atoll/result.h"

namespace atl::console {

// Connects to the ring described in the boot info. Called at boot.
Result<void> init();
bool connected();
// Writes everything, waiting for ring space when it may block.
void write(const char* data, size_t length);
// Reads at least one byte (waits for input), at most `length`.
size_t read(char* data, size_t length);

}  // namespace atl::console
