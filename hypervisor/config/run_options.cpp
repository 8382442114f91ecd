#include "run_options.h"

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
