// What `atoll run`'s flags and a domain config file (xl_cfg.h) both take: the
// ranges, the readers and the words of their errors, so the two say the same.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decimal.h"  // parse_memory_size, memory_size_rule: --memory and a manifest's memory
#include "domain.h"

namespace atl::hv {

constexpr uint64_t kMaxRestartsLimit = 1'000'000;
constexpr unsigned kDefaultMaxRestarts = 10;
constexpr uint64_t kMaxBusyPollUs = 10'000;
// xl's cpu_cap goes past 100 for domains of many vCPUs; ours have one.
constexpr uint64_t kMaxCpuCap = 100;
constexpr uint64_t kDefaultBusyPollUs = 100;
// Xen's MAX_GUEST_CMDLINE is 1024 bytes with the terminating NUL.
constexpr size_t kMaxCmdlineBytes = 1023;

// destroy, restart or preserve.
std::optional<Action> parse_action(std::string_view text);
const char* to_string(Action action);

// One guest argument as the guest's command-line splitter (kernel/boot.cpp)
// reads it back: bare when it can be, else in double quotes with \ escapes.
std::string quote_arg(const std::string& arg);
// The guest's command line: its name (argv[0]) and then `rest`, which is
// already in the command line's syntax (quoted arguments or a config's cmdline).
std::string guest_cmdline(const std::string& name, const std::string& rest);

// Linux's xvda, xvdb, ...: devid (202 << 8) | (index << 4), for index < 16.
constexpr unsigned kMaxVbdIndex = 15;
constexpr uint32_t vbd_devid(unsigned index) { return (202u << 8) | (index << 4); }

}  // namespace atl::hv
