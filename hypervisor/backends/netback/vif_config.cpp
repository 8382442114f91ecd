#include "vif_config.h"

#include "atoll/mac_address.h"
#include "decimal.h"

#include <arpa/inet.h>
#include <unistd.h>

#include <cstdio>

namespace atl::hv {
namespace {

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t at = text.find(sep, start);
    parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) return parts;
    start = at + 1;
  }
}

bool parse_port(const std::string& text, uint16_t& out) {
  auto v = parse_decimal(text, 1, 65535);
  if (v) out = static_cast<uint16_t>(*v);
  return v.has_value();
}

// A prefix length 1-32, digits only, no leading zero.
bool parse_prefix(const std::string& text) { return text.size() <= 2 && parse_decimal(text, 1, 32).has_value(); }

bool parse_ipv4(const std::string& text, uint32_t& out) {
  if (text.empty()) {
    out = 0;
    return true;
  }
  in_addr a{};
  if (inet_pton(AF_INET, text.c_str(), &a) != 1) return false;
  out = a.s_addr;
  return true;
}

// xl's rate: "10Mb/s", "1MB/s", "500Kb/s", optionally "@20ms" (or "@1s", "@500us").
bool parse_rate(const std::string& text, uint64_t& bytes_per_interval, uint64_t& interval_ns) {
  std::string rate = text, interval;
  if (size_t at = text.find('@'); at != std::string::npos) {
    rate = text.substr(0, at);
    interval = text.substr(at + 1);
  }
  auto [number, unit] = split_unit(rate, true);
  double amount = parse_decimal_fraction(number).value_or(0);
  if (!(amount > 0 && amount < 1e12)) return false;
  double scale = 0;
  if (unit == "b/s") scale = 1.0 / 8;
  else if (unit == "B/s") scale = 1;
  else if (unit == "Kb/s") scale = 1e3 / 8;
  else if (unit == "KB/s") scale = 1e3;
  else if (unit == "Mb/s") scale = 1e6 / 8;
  else if (unit == "MB/s") scale = 1e6;
  else if (unit == "Gb/s") scale = 1e9 / 8;
  else if (unit == "GB/s") scale = 1e9;
  else return false;
  interval_ns = 50'000'000;
  if (!interval.empty()) {
    auto [t_number, u] = split_unit(interval, true);
    double t = parse_decimal_fraction(t_number).value_or(0);
    if (!(t > 0 && t < 3600)) return false;
    if (u == "s") interval_ns = static_cast<uint64_t>(t * 1e9);
    else if (u == "ms") interval_ns = static_cast<uint64_t>(t * 1e6);
    else if (u == "us") interval_ns = static_cast<uint64_t>(t * 1e3);
    else return false;
  }
  bytes_per_interval = static_cast<uint64_t>(amount * scale * static_cast<double>(interval_ns) / 1e9);
  return bytes_per_interval > 0;
}

}  // namespace

bool parse_hostfwd(const std::string& text, HostFwd& out) {
  // tcp:HOSTADDR:HOSTPORT-GUESTADDR:GUESTPORT, addresses optional.
  size_t colon = text.find(':');
  if (colon == std::string::npos) return false;
  std::string proto = text.substr(0, colon);
  if (proto != "tcp" && proto != "udp") return false;
  out.udp = proto == "udp";
  auto halves = split(text.substr(colon + 1), '-');
  if (halves.size() != 2) return false;
  auto host = split(halves[0], ':');
  auto guest = split(halves[1], ':');
  if (host.size() != 2 || guest.size() != 2) return false;
  return parse_ipv4(host[0], out.host_addr) && parse_port(host[1], out.host_port) &&
         parse_ipv4(guest[0], out.guest_addr) && parse_port(guest[1], out.guest_port);
}

bool parse_publish(const std::string& text, HostFwd& out) {
  std::string spec = text;
  out = HostFwd{};
  if (spec.size() > 4 && spec.compare(spec.size() - 4, 4, "/udp") == 0) {
    out.udp = true;
    spec.resize(spec.size() - 4);
  } else if (spec.size() > 4 && spec.compare(spec.size() - 4, 4, "/tcp") == 0) {
    spec.resize(spec.size() - 4);
  }
  auto parts = split(spec, ':');
  if (parts.size() == 2) parts.insert(parts.begin(), "127.0.0.1");
  if (parts.size() != 3) return false;
  return parse_ipv4(parts[0], out.host_addr) && parse_port(parts[1], out.host_port) &&
         parse_port(parts[2], out.guest_port);
}

std::string format_hostfwd(const HostFwd& fwd) {
  auto addr = [](uint32_t a) -> std::string {
    if (a == 0) return "";
    char buf[INET_ADDRSTRLEN];
    in_addr in{a};
    inet_ntop(AF_INET, &in, buf, sizeof buf);
    return buf;
  };
  return std::string(fwd.udp ? "udp:" : "tcp:") + addr(fwd.host_addr) + ":" + std::to_string(fwd.host_port) + "-" +
         addr(fwd.guest_addr) + ":" + std::to_string(fwd.guest_port);
}

bool parse_vif_option(const std::string& text, VifConfig& out, std::string& error) {
  out = VifConfig{};
  auto items = split(text, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string& item = items[i];
    size_t eq = item.find('=');
    std::string key = item.substr(0, eq), value = eq == std::string::npos ? "" : item.substr(eq + 1);
    if (i == 0 && item == "user") out.mode = VifMode::kUser;
    else if (i == 0 && key == "tap" && !value.empty()) out.mode = VifMode::kTap, out.name = value;
    else if (i == 0 && key == "switch" && !value.empty()) out.mode = VifMode::kSwitch, out.name = value;
    else if (i == 0) return error = "unknown --net item `" + item + "`: --net starts with user, tap=NAME or switch=NAME", false;
    else if (key == "hostfwd") {
      HostFwd fwd;
      if (out.mode != VifMode::kUser) return error = "hostfwd= needs user networking", false;
      if (!parse_hostfwd(value, fwd)) return error = "cannot read hostfwd=" + value + " (try tcp:127.0.0.1:8080-:80; ports are 1 to 65535)", false;
      out.hostfwd.push_back(fwd);
    } else if (key == "backend") {
      if (out.mode != VifMode::kUser) return error = "backend= needs user networking", false;
      if (value == "passt") out.backend = UserBackend::kPasst;
      else if (value == "slirp") out.backend = UserBackend::kSlirp;
      else return error = "cannot read backend=" + value + " (passt or slirp)", false;
    } else if (key == "mac") {
      auto mac = parse_mac(value);
      // A unicast address: the guest's frames must not claim a group address.
      if (!mac || is_group_address(*mac))
        return error = "cannot read mac=" + value + " (a unicast xx:xx:xx:xx:xx:xx)", false;
      out.mac = *mac;
      out.mac_given = true;
    } else if (key == "rate") {
      if (!parse_rate(value, out.rate_bytes, out.rate_interval_ns))
        return error = "cannot read rate=" + value + " (try 10Mb/s or 1MB/s@20ms)", false;
    } else if (key == "ip") {
      size_t slash = value.find('/');
      uint32_t a;
      if (slash == std::string::npos || !parse_ipv4(value.substr(0, slash), a) || a == 0 ||
          !parse_prefix(value.substr(slash + 1)))
        return error = "cannot read ip=" + value + " (try 10.0.0.2/24; the prefix is 1 to 32)", false;
      out.ip = value;
    } else if (key == "gw") {
      uint32_t a;
      if (!parse_ipv4(value, a) || a == 0) return error = "cannot read gw=" + value, false;
      out.gateway = value;
    } else {
      return error = "unknown --net item `" + item + "` (expected user, tap=NAME or switch=NAME first)", false;
    }
  }
  return true;
}

std::string format_mac(const std::array<uint8_t, 6>& mac) {
  char buf[18];
  snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return buf;
}

std::array<uint8_t, 6> default_mac(uint16_t domid, uint32_t devid) {
  // 00:16:3e is Xen's OUI; the rest mixes the host process so two hypervisor
  // processes on one switch do not pick the same address for their domains.
  uint32_t mix = static_cast<uint32_t>(getpid()) * 2654435761u ^ (static_cast<uint32_t>(domid) << 8) ^ devid;
  return {0x00, 0x16, 0x3e, static_cast<uint8_t>((mix >> 16) & 0x7f), static_cast<uint8_t>(mix >> 8),
          static_cast<uint8_t>(mix)};
}

}  // namespace atl::hv
