#include "xl_keys.h"

#include <climits>
#include <cstdlib>

#include "atoll/hosted_abi.h"
#include "decimal.h"

namespace atl::hv {
namespace {

using cfg::Value;

// What is wrong with a value, and which value (a list item has its own line).
struct Problem {
  std::string message;
  const Value* at = nullptr;
};
using Check = std::optional<Problem>;

bool scalar(const Value& v) { return v.kind != Value::Kind::kList; }
bool on_command_line(const cfg::Origin& o) { return o.line == 0; }

// An absolute path: relative ones are from the config's directory (or, on the
// command line, the current one). The directory part is made canonical where it
// exists, so `../x` reads plainly; the file's own name stays as written (a
// symbolic link to an image keeps its name, which names the domain).
std::string resolve(const SpecBuilder& b, const Value& v) {
  std::string path = v.text;
  if (path.empty() || path[0] != '/') {
    const std::string& base = on_command_line(v.origin) ? b.sources.cwd : b.sources.dir;
    path = base.empty() ? path : base + "/" + path;
  }
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return path;
  char dir[PATH_MAX];
  if (!realpath(path.substr(0, slash).c_str(), dir)) return path;
  std::string canonical = dir;
  return (canonical == "/" ? "" : canonical) + path.substr(slash);
}

// Decimal digits in range. A leading zero is refused rather than read two ways:
// xl reads 010 as octal 8, and 0x10 as hexadecimal.
Check whole_number(const Value& v, uint64_t min, uint64_t max, const std::string& unit, uint64_t& out) {
  auto n = scalar(v) ? parse_decimal(v.text, min, max) : std::nullopt;
  std::string rule = "takes a whole number" + unit + " " + range_text(min, max);
  if (n && v.text.size() > 1 && v.text[0] == '0')
    return Problem{rule + ", not " + shown(v) + " (xl would read a leading 0 as octal)"};
  if (!n) return Problem{rule + ", not " + shown(v)};
  out = *n;
  return std::nullopt;
}

Check text(const Value& v, std::string& out) {
  if (!scalar(v)) return Problem{"takes one 'string', not a list"};
  out = v.text;
  return std::nullopt;
}

Check string_list(const Value& v) {
  if (scalar(v)) return Problem{"takes a [ list ] of strings, not " + shown(v)};
  for (const Value& item : v.items)
    if (!scalar(item)) return Problem{"takes a list of strings, not a list of lists", &item};
  return std::nullopt;
}

Check name(SpecBuilder& b, const Value& v) {
  std::string n;
  if (auto p = text(v, n)) return p;
  if (!is_domain_name(n)) return Problem{"takes " + std::string(kDomainNameRule) + ", not " + shown(v)};
  b.spec.name = n;
  return std::nullopt;
}

Check mib(const Value& v, uint64_t& bytes) {
  uint64_t n;
  if (auto p = whole_number(v, 1, hosted::kMaxMemory >> 20, " of MiB", n)) return p;
  bytes = n << 20;
  return std::nullopt;
}

Check memory(SpecBuilder& b, const Value& v) { return mib(v, b.spec.memory); }
Check maxmem(SpecBuilder& b, const Value& v) { return mib(v, b.spec.maxmem); }

Check vcpus(SpecBuilder&, const Value& v) {
  if (scalar(v) && v.text == "1") return std::nullopt;
  return Problem{"an atoll domain has exactly 1 vCPU: takes 1, not " + shown(v)};
}

Check kernel(SpecBuilder& b, const Value& v) {
  if (!scalar(v) || v.text.empty()) return Problem{"takes the appliance image's path, not " + shown(v)};
  std::string path = resolve(b, v);
  std::string why = b.sources.check_file(path);
  if (!why.empty()) return Problem{"cannot use " + path + ": " + why};
  b.spec.kernel = path;
  return std::nullopt;
}

Check cmdline(SpecBuilder& b, const Value& v) { return text(v, b.spec.cmdline); }

// Our own: the guest's arguments one by one, quoted as `atoll run -- ARGS` quotes them.
Check args(SpecBuilder& b, const Value& v) {
  if (auto p = string_list(v)) return p;
  b.spec.cmdline.clear();
  for (const Value& item : v.items) b.spec.cmdline += (b.spec.cmdline.empty() ? "" : " ") + quote_arg(item.text);
  return std::nullopt;
}

Check action(const Value& v, Action& out) {
  auto a = scalar(v) ? parse_action(v.text) : std::nullopt;
  if (!a) return Problem{"takes destroy, restart or preserve, not " + shown(v)};
  out = *a;
  return std::nullopt;
}
Check on_poweroff(SpecBuilder& b, const Value& v) { return action(v, b.spec.on_poweroff); }
Check on_reboot(SpecBuilder& b, const Value& v) { return action(v, b.spec.on_reboot); }
Check on_crash(SpecBuilder& b, const Value& v) { return action(v, b.spec.on_crash); }

Check vif(SpecBuilder& b, const Value& v) {
  if (auto p = string_list(v)) return p;
  b.spec.vifs.emplace();
  for (const Value& item : v.items) {
    auto vif = parse_xl_vif(item.text);
    if (!vif.ok()) return Problem{shown(item) + ": " + vif.error().message, &item};
    b.spec.vifs->push_back(std::move(vif.value()));
  }
  return std::nullopt;
}

// Gives each disk without a vdev the first one no disk has, in order.
Check number_disks(std::vector<DiskSpec>& disks, const Value& list) {
  if (disks.size() > kMaxVbdIndex + 1)
    return Problem{"takes at most " + std::to_string(kMaxVbdIndex + 1) + " disks (xvda to " + vdev_name(kMaxVbdIndex) + ")"};
  std::vector<bool> used(kMaxVbdIndex + 1);
  for (size_t i = 0; i < disks.size(); ++i) {
    if (!disks[i].vdev) continue;
    if (used[*disks[i].vdev]) return Problem{"two disks are " + vdev_name(*disks[i].vdev), &list.items[i]};
    used[*disks[i].vdev] = true;
  }
  unsigned next = 0;
  for (DiskSpec& d : disks) {
    if (d.vdev) continue;
    while (used[next]) ++next;
    d.vdev = next;
    used[next] = true;
  }
  return std::nullopt;
}

Check disk(SpecBuilder& b, const Value& v) {
  if (auto p = string_list(v)) return p;
  b.spec.disks.clear();
  for (const Value& item : v.items) {
    auto d = parse_xl_disk(item.text);
    if (!d.ok()) return Problem{shown(item) + ": " + d.error().message, &item};
    Value target = item;
    target.text = d.value().config.path;
    d.value().config.path = resolve(b, target);
    std::string why = b.sources.check_file(d.value().config.path);
    if (!why.empty()) return Problem{"cannot use " + d.value().config.path + ": " + why, &item};
    b.spec.disks.push_back(std::move(d.value()));
  }
  return number_disks(b.spec.disks, v);
}

Check publish(SpecBuilder& b, const Value& v) {
  if (auto p = string_list(v)) return p;
  b.spec.publish.clear();
  b.spec.published.clear();
  for (const Value& item : v.items) {
    HostFwd fwd;
    if (!parse_publish(item.text, fwd))
      return Problem{"cannot read " + shown(item) + " (try '8080:80' or '127.0.0.1:5353:53/udp'; ports are 1 to 65535)",
                     &item};
    b.spec.publish.push_back(item.text);
    b.spec.published.push_back(fwd);
  }
  return std::nullopt;
}

// A whole number into an unsigned field (the limits all fit).
Check whole_unsigned(const Value& v, uint64_t lo, uint64_t hi, const char* unit, unsigned& out) {
  uint64_t n;
  if (auto p = whole_number(v, lo, hi, unit, n)) return p;
  out = static_cast<unsigned>(n);
  return std::nullopt;
}

Check max_restarts(SpecBuilder& b, const Value& v) { return whole_unsigned(v, 0, kMaxRestartsLimit, "", b.spec.max_restarts); }
Check cpu_cap(SpecBuilder& b, const Value& v) {
  return whole_unsigned(v, 0, kMaxCpuCap, " (percent of one CPU; 0: no cap)", b.spec.cpu_cap);
}
Check max_connections(SpecBuilder& b, const Value& v) {
  return whole_unsigned(v, 1, kMaxConnectionsLimit, " of connections", b.spec.max_connections);
}
Check busy_poll(SpecBuilder& b, const Value& v) { return whole_number(v, 0, kMaxBusyPollUs, " of microseconds", b.spec.busy_poll_us); }

Check console_log(SpecBuilder& b, const Value& v) {
  if (!scalar(v) || v.text.empty()) return Problem{"takes a file's path, not " + shown(v)};
  b.spec.console_log = resolve(b, v);
  return std::nullopt;
}

Check type(SpecBuilder& b, const Value& v) {
  if (!scalar(v) || (v.text != "pv" && v.text != "pvh"))
    return Problem{"takes pv or pvh (atoll appliances are PV guests), not " + shown(v)};
  b.spec.type = v.text;
  return std::nullopt;
}

struct Key {
  const char* name;
  Check (*read)(SpecBuilder&, const Value&);
};
constexpr Key kKeys[] = {
    {"name", name},           {"type", type},           {"memory", memory},
    {"maxmem", maxmem},       {"vcpus", vcpus},         {"kernel", kernel},
    {"cmdline", cmdline},     {"extra", cmdline},       {"args", args},
    {"on_poweroff", on_poweroff}, {"on_reboot", on_reboot}, {"on_crash", on_crash},
    {"vif", vif},             {"disk", disk},           {"publish", publish},
    {"max_restarts", max_restarts}, {"busy_poll", busy_poll}, {"console_log", console_log},
    {"cpu_cap", cpu_cap},     {"max_connections", max_connections},
};

std::string known_keys() {
  std::string out;
  for (const Key& k : kKeys) out += (out.empty() ? "" : ", ") + std::string(k.name);
  return out;
}

}  // namespace

bool is_domain_name(const std::string& n) {
  bool digits_only = !n.empty(), good = !n.empty() && n.size() <= 64 && n[0] != '-';
  for (char c : n) {
    digits_only = digits_only && c >= '0' && c <= '9';
    good = good && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.');
  }
  return good && !digits_only;
}

std::string shown(const Value& v) {
  if (v.kind == Value::Kind::kList) return "a list";
  return v.kind == Value::Kind::kNumber ? v.text : cfg::quote_string(v.text);
}

std::optional<cfg::Error> apply_setting(SpecBuilder& b, const cfg::Setting& s) {
  for (const Key& k : kKeys) {
    if (s.key != k.name) continue;
    auto p = k.read(b, s.value);
    if (p) return cfg::Error{p->at ? p->at->origin : s.origin, s.key, p->message};
    b.seen[s.key] = s.origin;
    return std::nullopt;
  }
  return cfg::Error{s.origin, s.key, "unknown key (atoll takes " + known_keys() + "; docs/config.md)"};
}

}  // namespace atl::hv
