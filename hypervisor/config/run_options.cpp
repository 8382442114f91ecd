#include "run_options.h"

#include "atoll/hosted_abi.h"
#include "decimal.h"

namespace atl::hv {

std::optional<Action> parse_action(std::string_view text) {
  if (text == "destroy") return Action::kDestroy;
  if (text == "restart") return Action::kRestart;
  if (text == "preserve") return Action::kPreserve;
  return std::nullopt;
}

const char* to_string(Action action) {
  switch (action) {
    case Action::kDestroy: return "destroy";
    case Action::kRestart: return "restart";
    case Action::kPreserve: return "preserve";
  }
  return "?";
}

std::optional<uint64_t> parse_memory_size(std::string_view text) {
  auto [number, unit] = split_unit(text);
  uint64_t mult = 0;
  if (unit == "" || unit == "M" || unit == "m" || unit == "MiB") mult = 1ULL << 20;
  else if (unit == "K" || unit == "k" || unit == "KiB") mult = 1ULL << 10;
  else if (unit == "G" || unit == "g" || unit == "GiB") mult = 1ULL << 30;
  auto v = mult ? parse_decimal(number, 1, hosted::kMaxMemory / mult) : std::nullopt;
  if (!v || *v * mult < hosted::kMinMemory || *v * mult % hosted::kPageSize) return std::nullopt;
  return *v * mult;
}

std::string memory_size_rule() {
  return "a size from 1M to " + std::to_string(hosted::kMaxMemory >> 20) +
         "M in whole 4K pages (a number with K, M or G)";
}

std::string quote_arg(const std::string& arg) {
  if (arg.find_first_of(" \t\"\\") == std::string::npos && !arg.empty()) return arg;
  std::string q = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q + "\"";
}

std::string guest_cmdline(const std::string& name, const std::string& rest) {
  return rest.empty() ? quote_arg(name) : quote_arg(name) + " " + rest;
}

}  // namespace atl::hv
