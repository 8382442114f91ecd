// What a guest process costs the host, read from /proc: the CPU time it has
// run and the memory it holds resident. Both are the kernel's own accounting,
// so they count the loader and the guest alike.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace atl::hv {

// Nanoseconds on a CPU so far (/proc/PID/schedstat's first field); nullopt
// once the process is gone or the kernel was built without schedstats.
std::optional<uint64_t> process_cpu_ns(pid_t pid);
// Resident bytes (/proc/PID/statm's second field, in pages).
std::optional<uint64_t> process_rss_bytes(pid_t pid);

}  // namespace atl::hv
