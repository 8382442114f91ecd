#include "xl_devices.h"

#include <array>
#include <vector>

#include "blkback_xenbus.h"
#include "decimal.h"
#include "run_options.h"

namespace atl::hv {
namespace {

cfg::Error problem(std::string message) { return cfg::Error{{}, "", std::move(message)}; }

std::string trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

std::vector<std::string> split_items(const std::string& text) {
  std::vector<std::string> items;
  size_t start = 0;
  for (;;) {
    size_t comma = text.find(',', start);
    std::string item = trim(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!item.empty()) items.push_back(item);
    if (comma == std::string::npos) return items;
    start = comma + 1;
  }
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// user, tap=NAME, switch=NAME or bridge=NAME (then as switch=NAME); empty if not a mode.
std::string vif_mode(const std::string& item) {
  if (item == "user") return item;
  for (const char* p : {"tap=", "switch="})
    if (starts_with(item, p) && item.size() > std::string(p).size()) return item;
  if (starts_with(item, "bridge=") && item.size() > 7) return "switch=" + item.substr(7);
  return "";
}

bool is_vif_item(const std::string& item) {
  for (const char* p : {"mac=", "ip=", "gw=", "rate=", "hostfwd=", "backend="})
    if (starts_with(item, p)) return true;
  return false;
}

// The four positional parameters of a disk, in xl's order.
enum Positional { kTarget, kFormat, kVdev, kAccess, kPositionals };
constexpr std::array<const char*, kPositionals> kPositionalNames = {"target", "format", "vdev", "access"};

struct DiskParams {
  std::array<std::optional<std::string>, kPositionals> given;
  DiskConfig flags;
};

std::optional<cfg::Error> set_param(DiskParams& d, Positional which, const std::string& value) {
  if (d.given[which] && !(which == kTarget && d.given[which]->empty()))
    return problem(std::string(kPositionalNames[which]) + " is given twice");
  d.given[which] = value;
  return std::nullopt;
}

// A deprecated `file:PATH` or `raw:PATH` target; other prefixes name backends we do not have.
std::optional<cfg::Error> strip_prefix(DiskParams& d, std::string& target) {
  size_t colon = target.find(':');
  if (colon == std::string::npos || target.find('/') < colon) return std::nullopt;
  std::string prefix = target.substr(0, colon);
  if (prefix == "file" || prefix == "raw") {
    target = target.substr(colon + 1);
    d.given[kFormat] = "raw";
    return std::nullopt;
  }
  for (const char* other : {"phy", "tap", "tap2", "aio", "qcow", "qcow2", "vhd", "qed"})
    if (prefix == other) return problem("`" + prefix + ":` disks are not supported (atoll serves raw image files: file:PATH)");
  return std::nullopt;
}

std::optional<cfg::Error> disk_item(DiskParams& d, const std::string& item) {
  size_t eq = item.find('=');
  if (eq != std::string::npos) {
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    for (int p = kFormat; p < kPositionals; ++p)
      if (key == kPositionalNames[p]) return set_param(d, static_cast<Positional>(p), value);
    if (key == "queues") {
      if (!apply_disk_flag(item, d.flags))
        return problem("cannot read " + item + " (queues=N with N " + range_text(1, kMaxQueuesLimit) + ")");
      return std::nullopt;
    }
    if (key == "devtype") return problem("devtype=" + value + " is not supported (atoll's disks are plain vbds)");
    return problem("unknown disk parameter `" + key + "=` (atoll takes target=, format=, vdev=, access=, queues=)");
  }
  if (item == "direct") {
    apply_disk_flag(item, d.flags);
    return std::nullopt;
  }
  for (const char* xl_flag : {"cdrom", "discard", "no-discard", "direct-io-safe", "trusted", "untrusted", "colo"})
    if (item == xl_flag) return problem("xl's `" + item + "` is not supported (atoll's flags are direct and queues=N)");
  for (int p = kTarget; p < kPositionals; ++p) {
    if (d.given[p]) continue;
    std::string value = item;
    if (p == kTarget)
      if (auto e = strip_prefix(d, value)) return e;
    d.given[p] = value;
    return std::nullopt;
  }
  return problem("`" + item + "` is one positional parameter too many (target, format, vdev, access)");
}

std::optional<unsigned> parse_vdev(const std::string& text) {
  if (text.size() == 4 && starts_with(text, "xvd") && text[3] >= 'a' && text[3] <= 'a' + static_cast<int>(kMaxVbdIndex))
    return static_cast<unsigned>(text[3] - 'a');
  return std::nullopt;
}

}  // namespace

std::string vdev_name(unsigned index) { return "xvd" + std::string(1, static_cast<char>('a' + index)); }

cfg::Parsed<VifSpec> parse_xl_vif(const std::string& text) {
  std::string mode;
  std::vector<std::string> rest;
  for (const std::string& item : split_items(text)) {
    std::string m = vif_mode(item);
    if (!m.empty() && !mode.empty())
      return problem("`" + item + "` after `" + mode + "`: a vif is one of user, tap=NAME or switch=NAME");
    if (!m.empty()) mode = m;
    else if (is_vif_item(item)) rest.push_back(item);
    else
      return problem("unknown vif item `" + item +
                     "` (a vif is user, tap=NAME, switch=NAME or bridge=NAME, with mac=, ip=, gw=, rate=, hostfwd=, backend=)");
  }
  VifSpec vif;
  vif.text = mode.empty() ? "user" : mode;
  for (const std::string& item : rest) vif.text += "," + item;
  std::string why;
  if (!parse_vif_option(vif.text, vif.config, why)) return problem(why);
  return vif;
}

cfg::Parsed<DiskSpec> parse_xl_disk(const std::string& text) {
  DiskParams d;
  size_t pos = 0;
  while (pos <= text.size()) {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
    if (text.compare(pos, 7, "target=") == 0) {  // the rest of the string, commas and all
      if (auto e = set_param(d, kTarget, text.substr(pos + 7))) return *e;
      break;
    }
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    // An empty positional takes its place with the default value.
    if (trim(item).empty()) {
      for (auto& p : d.given)
        if (!p) { p = ""; break; }
    } else if (auto e = disk_item(d, trim(item))) {
      return *e;
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  DiskSpec disk;
  disk.config = d.flags;
  disk.config.path = d.given[kTarget].value_or("");
  if (disk.config.path.empty()) return problem("no target (the disk image's path): try 'target=disk.img'");
  std::string format = d.given[kFormat].value_or("");
  if (!format.empty() && format != "raw") return problem("format=" + format + ": atoll serves raw images only");
  std::string access = d.given[kAccess].value_or("");
  if (access == "ro" || access == "r") disk.config.read_only = true;
  else if (!access.empty() && access != "rw" && access != "w")
    return problem("access=" + access + ": ro (or r) or rw (or w)");
  std::string vdev = d.given[kVdev].value_or("");
  if (!vdev.empty()) {
    disk.vdev = parse_vdev(vdev);
    if (!disk.vdev) return problem("vdev=" + vdev + ": atoll's disks are xvda to " + vdev_name(kMaxVbdIndex));
  }
  return disk;
}

}  // namespace atl::hv
