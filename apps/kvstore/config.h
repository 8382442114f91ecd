// The server's settings, from the command line (options.cpp).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <optional>
#include <string>

#include "aof.h"

namespace kv {

inline constexpr const char* kVersion = "0.1.0";

struct Config {
  std::string addr = "0.0.0.0";
  uint16_t port = 6379;
  bool aof = true;
  FsyncPolicy fsync = FsyncPolicy::kEverySec;
  std::string aof_file = "kvstore.aof";  // native only
  uint64_t aof_size = 64u << 20;
  uint64_t compact_min = 1u << 20;
  uint64_t max_bulk = 64u << 20;
  size_t max_clients = 1000;
  std::optional<uint64_t> maxmemory;  // unset: mem::default_maxmemory()
  EvictionPolicy maxmemory_policy = EvictionPolicy::kNoEviction;
  bool quiet = false;
};

// Parses argv into `config`. false with `error` set for a bad option;
// `help` is set for --help.
bool parse_options(int argc, char** argv, Config& config, bool& help, std::string& error);
const char* usage();

}  // namespace kv
