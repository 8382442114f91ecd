#include "fleet_top.h"

#include <poll.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <map>
#include <string>

#include "daemon_client.h"
#include "raw_terminal.h"
#include "socket_path.h"

namespace atl::hv::fleet {

using nlohmann::json;

namespace {

constexpr int kExitError = 125;

struct TopArgs {
  std::string socket_path;
  double delay_s = 1.0;
  unsigned iterations = 0;  // 0: until q
  bool batch = false, as_json = false;
};

// One of the daemon's samples (DaemonServer::top).
struct Sample {
  uint64_t now_ns = 0;
  std::map<std::string, json> domains;  // by "id/name", so a reused id is a new domain
};

std::string key_of(const json& d) { return std::to_string(d.value("id", 0)) + "/" + d.value("name", std::string()); }

std::optional<Sample> take_sample(const std::string& socket_path) {
  auto answer = ask_daemon(socket_path, json{{"verb", "top"}});
  if (!answer) return std::nullopt;
  Sample s;
  s.now_ns = (*answer).value("now_ns", uint64_t{0});
  for (const json& d : (*answer)["domains"]) s.domains[key_of(d)] = d;
  return s;
}

// Per second between two samples of one counter; 0 for a domain that is new.
double rate(const json* before, const json& now, const char* field, double seconds) {
  if (!before || seconds <= 0) return 0;
  uint64_t a = before->value(field, uint64_t{0}), b = now.value(field, uint64_t{0});
  return b >= a ? static_cast<double>(b - a) / seconds : 0;
}

// The same device in the earlier sample, by its name.
const json* earlier_device(const json* before, const char* list, const json& device) {
  if (!before || !before->contains(list)) return nullptr;
  for (const json& d : (*before)[list])
    if (d.value("name", std::string()) == device.value("name", std::string())) return &d;
  return nullptr;
}

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (bytes >= 1024 && u < 3) {
    bytes /= 1024;
    ++u;
  }
  char out[32];
  snprintf(out, sizeof out, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
  return out;
}

// One frame: the rates between `before` and `now`, as a table or as JSON.
json frame(const Sample& before, const Sample& now) {
  double seconds = static_cast<double>(now.now_ns - before.now_ns) / 1e9;
  json domains = json::array();
  for (const auto& [key, d] : now.domains) {
    auto it = before.domains.find(key);
    const json* b = it == before.domains.end() ? nullptr : &it->second;
    json row{{"id", d.value("id", 0)},
             {"name", d.value("name", std::string())},
             {"state", d.value("state", std::string())},
             {"cpu_percent", rate(b, d, "cpu_ns", seconds) / 1e7},
             {"cpu_s", static_cast<double>(d.value("cpu_ns", uint64_t{0})) / 1e9},
             {"cpu_cap", d.value("cpu_cap", 0)},
             {"throttled", d.value("throttled", false)},
             {"throttled_s", static_cast<double>(d.value("throttled_ns", uint64_t{0})) / 1e9},
             {"memory_bytes", d.value("memory_bytes", uint64_t{0})},
             {"rss_bytes", d.value("rss_bytes", uint64_t{0})},
             {"hypercalls", d.value("hypercalls", uint64_t{0})},
             {"hypercalls_per_s", rate(b, d, "hypercalls", seconds)},
             {"events_sent_per_s", rate(b, d, "events_sent", seconds)},
             {"events_raised_per_s", rate(b, d, "events_raised", seconds)}};
    json vifs = json::array(), disks = json::array();
    for (const json& v : d.value("vifs", json::array())) {
      const json* e = earlier_device(b, "vifs", v);
      vifs.push_back(json{{"name", v["name"]},
                          {"tx_packets", v["tx_packets"]}, {"rx_packets", v["rx_packets"]},
                          {"tx_bytes", v["tx_bytes"]}, {"rx_bytes", v["rx_bytes"]},
                          {"rx_dropped", v["rx_dropped"]}, {"tx_errors", v["tx_errors"]},
                          {"tx_packets_per_s", rate(e, v, "tx_packets", seconds)},
                          {"rx_packets_per_s", rate(e, v, "rx_packets", seconds)},
                          {"tx_bytes_per_s", rate(e, v, "tx_bytes", seconds)},
                          {"rx_bytes_per_s", rate(e, v, "rx_bytes", seconds)}});
    }
    for (const json& k : d.value("disks", json::array())) {
      const json* e = earlier_device(b, "disks", k);
      disks.push_back(json{{"name", k["name"]},
                           {"reads", k["reads"]}, {"writes", k["writes"]},
                           {"read_bytes", k["read_bytes"]}, {"write_bytes", k["write_bytes"]},
                           {"flushes", k["flushes"]}, {"errors", k["errors"]},
                           {"reads_per_s", rate(e, k, "reads", seconds)},
                           {"writes_per_s", rate(e, k, "writes", seconds)},
                           {"read_bytes_per_s", rate(e, k, "read_bytes", seconds)},
                           {"write_bytes_per_s", rate(e, k, "write_bytes", seconds)}});
    }
    row["vifs"] = vifs;
    row["disks"] = disks;
    domains.push_back(row);
  }
  return json{{"interval_s", seconds}, {"domains", domains}};
}

void print_table(const json& f, bool clear) {
  std::string out = clear ? "\x1b[H\x1b[2J" : "";
  char line[512];
  double cpu = 0;
  uint64_t rss = 0;
  for (const json& d : f["domains"]) {
    cpu += d.value("cpu_percent", 0.0);
    rss += d.value("rss_bytes", uint64_t{0});
  }
  snprintf(line, sizeof line, "atoll top - %zu domains, %.1f%% CPU, %s resident, every %.1f s%s\n\n", f["domains"].size(),
           cpu, human_bytes(static_cast<double>(rss)).c_str(), f.value("interval_s", 0.0), clear ? " (q quits)" : "");
  out += line;
  snprintf(line, sizeof line, "%-20s %5s %-10s %6s %9s %9s %9s %10s %9s %9s\n", "NAME", "ID", "STATE", "CPU%", "CPU(s)",
           "MEM(MiB)", "RSS(MiB)", "HCALLS/s", "EVSENT/s", "EVRECV/s");
  out += line;
  for (const json& d : f["domains"]) {
    std::string state = d.value("state", std::string());
    if (d.value("throttled", false)) state += "*";
    std::string cpu_text = std::to_string(static_cast<int>(std::lround(d.value("cpu_percent", 0.0))));
    if (d.value("cpu_cap", 0)) cpu_text += "/" + std::to_string(d.value("cpu_cap", 0));
    snprintf(line, sizeof line, "%-20s %5d %-10s %6s %9.2f %9llu %9.1f %10.0f %9.0f %9.0f\n",
             d.value("name", std::string()).c_str(), d.value("id", 0), state.c_str(), cpu_text.c_str(), d.value("cpu_s", 0.0),
             static_cast<unsigned long long>(d.value("memory_bytes", uint64_t{0}) >> 20),
             static_cast<double>(d.value("rss_bytes", uint64_t{0})) / (1 << 20), d.value("hypercalls_per_s", 0.0),
             d.value("events_sent_per_s", 0.0), d.value("events_raised_per_s", 0.0));
    out += line;
    for (const json& v : d["vifs"]) {
      snprintf(line, sizeof line, "  %-12s tx %8.0f pkt/s %12s/s   rx %8.0f pkt/s %12s/s   dropped %llu\n",
               v.value("name", std::string()).c_str(), v.value("tx_packets_per_s", 0.0),
               human_bytes(v.value("tx_bytes_per_s", 0.0)).c_str(), v.value("rx_packets_per_s", 0.0),
               human_bytes(v.value("rx_bytes_per_s", 0.0)).c_str(),
               static_cast<unsigned long long>(v.value("rx_dropped", uint64_t{0})));
      out += line;
    }
    for (const json& k : d["disks"]) {
      snprintf(line, sizeof line, "  %-12s rd %8.0f op/s %12s/s   wr %8.0f op/s %12s/s   errors %llu\n",
               k.value("name", std::string()).c_str(), k.value("reads_per_s", 0.0),
               human_bytes(k.value("read_bytes_per_s", 0.0)).c_str(), k.value("writes_per_s", 0.0),
               human_bytes(k.value("write_bytes_per_s", 0.0)).c_str(),
               static_cast<unsigned long long>(k.value("errors", uint64_t{0})));
      out += line;
    }
  }
  if (!clear) out += "\n";
  fputs(out.c_str(), stdout);
  fflush(stdout);
}

// Waits `seconds`; false when the user pressed q (or Ctrl-C, which a raw
// terminal delivers as a byte).
bool wait_or_quit(double seconds, bool keys) {
  pollfd p{STDIN_FILENO, POLLIN, 0};
  int ms = static_cast<int>(seconds * 1000);
  if (!keys) {
    usleep(static_cast<useconds_t>(ms) * 1000);
    return true;
  }
  while (poll(&p, 1, ms) > 0) {
    char c;
    if (read(STDIN_FILENO, &c, 1) != 1 || c == 'q' || c == 'Q' || c == 0x03) return false;
  }
  return true;
}

}  // namespace

int cmd_top(int argc, char** argv) {
  TopArgs a;
  CLI::App app{"A live view of the daemon's domains: CPU (and cap), memory, hypercall and\n"
               "event rates, and each vif's and disk's traffic. Rates are over the last\n"
               "interval. A state marked * is held by its cpu_cap right now.",
               "atoll top"};
  app.add_option("--socket", a.socket_path, "the daemon's socket (default: $ATOLL_SOCKET or the per-user path)");
  app.add_option("-d,--delay", a.delay_s, "seconds between frames (default 1)")->check(CLI::Range(0.1, 3600.0));
  app.add_option("-n,--iterations", a.iterations, "stop after N frames (default: until q)");
  app.add_flag("-b,--batch", a.batch, "plain frames one after another, for a pipe or a file (as top -b)");
  app.add_flag("--json", a.as_json, "one JSON object per frame and line; implies --batch");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "atoll top: %s\nTry `atoll top --help`.\n", e.what());
    return kExitError;
  }
  std::string socket_path = a.socket_path.empty() ? default_socket_path() : a.socket_path;
  bool screen = !a.batch && !a.as_json && isatty(STDOUT_FILENO);
  std::optional<RawTerminal> raw;
  if (screen) raw.emplace();
  auto before = take_sample(socket_path);
  if (!before) return kExitError;
  for (unsigned n = 0; a.iterations == 0 || n < a.iterations; ++n) {
    if (!wait_or_quit(a.delay_s, raw && raw->active())) break;
    auto now = take_sample(socket_path);
    if (!now) return kExitError;
    json f = frame(*before, *now);
    if (a.as_json) {
      printf("%s\n", f.dump().c_str());
      fflush(stdout);
    } else {
      print_table(f, screen);
    }
    before = std::move(now);
  }
  return 0;
}

}  // namespace atl::hv::fleet
