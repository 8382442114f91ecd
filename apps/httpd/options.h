// The command line, parsed by hand: the guest's C library does not promise getopt.
#pragma once

#include <stdint.h>

#include <string>

namespace atl::httpd {

struct Options {
#ifdef __atoll__
  // An appliance's files are its archive, mounted at "/".
  std::string root = "/";
#else
  std::string root = "/srv";
#endif
  std::string addr = "0.0.0.0";
  uint16_t port = 80;
  bool quiet = false;  // no access log
  unsigned max_conns = 4096;
  // Bytes of heap the connections may hold (memory_budget.h); 0: the default,
  // a share of the heap in an appliance and no limit natively.
  uint64_t memory_budget = 0;
  uint64_t header_timeout_ms = 10'000;  // from a request's first byte to its blank line
  uint64_t idle_timeout_ms = 60'000;    // between requests, and without send progress
};

struct OptionsResult {
  enum class Kind { Run, Help, Error };
  Kind kind = Kind::Run;
  Options options;
  std::string error;  // Kind::Error: what was wrong, for one line on stderr
};

// argv[0] is skipped. Accepts "--name value" and "--name=value".
OptionsResult parse_options(int argc, const char* const* argv);

const char* usage_text();

// "0.0.0.0:80", or "[::]:80" for an IPv6 address.
std::string listen_address(const Options& o);

}  // namespace atl::httpd
