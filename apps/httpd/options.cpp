#include "options.h"

#include <optional>
#include <string_view>

namespace atl::httpd {
namespace {

std::optional<uint64_t> parse_unsigned(std::string_view s, uint64_t max) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > max) return std::nullopt;
  return v;
}

// Seconds with up to three decimals ("10", "0.5") as milliseconds; at least 1 ms.
std::optional<uint64_t> parse_seconds(std::string_view s) {
  size_t dot = s.find('.');
  std::string_view whole = s.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (dot != std::string_view::npos && (frac.empty() || frac.size() > 3)) return std::nullopt;
  auto secs = parse_unsigned(whole.empty() ? "0" : whole, 100'000'000);
  if (!secs) return std::nullopt;
  uint64_t ms = *secs * 1000;
  if (!frac.empty()) {
    auto f = parse_unsigned(frac, 999);
    if (!f) return std::nullopt;
    for (size_t i = frac.size(); i < 3; ++i) *f *= 10;
    ms += *f;
  }
  if (ms == 0) return std::nullopt;
  return ms;
}

// Bytes, or KiB/MiB with a K or M; at least 64 KiB, so one connection fits.
std::optional<uint64_t> parse_size(std::string_view s) {
  uint64_t unit = 1;
  if (!s.empty() && (s.back() == 'K' || s.back() == 'M')) {
    unit = s.back() == 'K' ? 1024 : 1024 * 1024;
    s.remove_suffix(1);
  }
  auto v = parse_unsigned(s, (uint64_t{1} << 40) / unit);
  if (!v || *v * unit < 64 * 1024) return std::nullopt;
  return *v * unit;
}

OptionsResult error(std::string message) {
  OptionsResult r;
  r.kind = OptionsResult::Kind::Error;
  r.error = std::move(message);
  return r;
}

// Applies one option that takes a value; false names a bad value.
bool apply(Options& o, std::string_view name, std::string_view value) {
  if (name == "--port") {
    auto v = parse_unsigned(value, 65535);
    if (v) o.port = static_cast<uint16_t>(*v);
    return v.has_value();
  }
  if (name == "--max-conns") {
    auto v = parse_unsigned(value, 1'000'000);
    if (v && *v > 0) o.max_conns = static_cast<unsigned>(*v);
    return v && *v > 0;
  }
  if (name == "--memory-budget") {
    auto v = parse_size(value);
    if (v) o.memory_budget = *v;
    return v.has_value();
  }
  if (name == "--header-timeout" || name == "--idle-timeout") {
    auto v = parse_seconds(value);
    if (v) (name == "--header-timeout" ? o.header_timeout_ms : o.idle_timeout_ms) = *v;
    return v.has_value();
  }
  if (value.empty()) return false;
  (name == "--addr" ? o.addr : o.root) = std::string(value);
  return true;
}

}  // namespace

OptionsResult parse_options(int argc, const char* const* argv) {
  OptionsResult r;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      r.kind = OptionsResult::Kind::Help;
      return r;
    }
    if (arg == "--quiet" || arg == "-q") {
      r.options.quiet = true;
      continue;
    }
    std::string_view name = arg.substr(0, arg.find('='));
    bool takes_value = name == "--port" || name == "--addr" || name == "--root" || name == "--max-conns" ||
                       name == "--header-timeout" || name == "--idle-timeout" || name == "--memory-budget";
    if (!takes_value) return error("unknown option '" + std::string(arg) + "'");
    std::string_view value;
    if (name.size() < arg.size()) {
      value = arg.substr(name.size() + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return error("option '" + std::string(name) + "' needs a value");
    }
    if (!apply(r.options, name, value))
      return error("bad value '" + std::string(value) + "' for " + std::string(name));
  }
  while (r.options.root.size() > 1 && r.options.root.back() == '/') r.options.root.pop_back();
  return r;
}

const char* usage_text() {
  return "usage: httpd [--port N] [--addr A] [--root DIR] [--quiet] [--max-conns N]\n"
         "             [--header-timeout S] [--idle-timeout S] [--memory-budget SIZE]\n"
         "  --port N            TCP port to listen on (default 80)\n"
         "  --addr A            IPv4 or IPv6 address to bind (default 0.0.0.0)\n"
         "  --root DIR          document root (default /srv; / in an appliance)\n"
         "  --quiet             no access log on stdout\n"
         "  --max-conns N       open connections at most; more are accepted and closed (default 4096)\n"
         "  --header-timeout S  seconds to receive a whole request head (default 10)\n"
         "  --idle-timeout S    seconds a kept-alive connection may idle (default 60)\n"
         "  --memory-budget SIZE  heap the connections may hold, e.g. 4M (at least 64K); beyond it\n"
         "                      new connections get 503 (default: in an appliance half the free heap,\n"
         "                      natively no limit)\n";
}

std::string listen_address(const Options& o) {
  bool v6 = o.addr.find(':') != std::string::npos;
  return (v6 ? "[" + o.addr + "]" : o.addr) + ":" + std::to_string(o.port);
}

}  // namespace atl::httpd
