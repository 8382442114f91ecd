#include <string.h>

#include <string_view>

#include "config.h"
#include "memory.h"
#include "numbers.h"

namespace kv {

const char* usage() {
  return "usage: kvstore [--port N] [--addr A] [--aof on|off] [--appendfsync always|everysec|no]\n"
         "               [--aof-file PATH] [--aof-size SIZE] [--compact-min SIZE] [--max-bulk SIZE]\n"
         "               [--max-clients N] [--maxmemory SIZE] [--maxmemory-policy P] [--quiet]\n"
         "  --port N              TCP port (default 6379)\n"
         "  --addr A              IPv4 address to listen on (default 0.0.0.0)\n"
         "  --aof on|off          the append-only log (default on)\n"
         "  --appendfsync P       always: flush before replying; everysec (default); no\n"
         "  --aof-file PATH       native build: the file used as the log's disk (default kvstore.aof)\n"
         "  --aof-size SIZE       native build: its capacity (default 64M; K/M/G suffixes)\n"
         "  --compact-min SIZE    compact the log once it is this big and twice the live data (default 1M)\n"
         "  --max-bulk SIZE       largest argument a client may send (default 64M)\n"
         "  --max-clients N       connections at once (default 1000)\n"
         "  --maxmemory SIZE      memory for data and buffers, as Redis's maxmemory (k/m/g: 1000s, kb/mb/gb: 1024s;\n"
         "                        default: 40% of the heap left at start in the guest, 0 = no limit natively)\n"
         "  --maxmemory-policy P  noeviction (default), allkeys-lru, volatile-lru, allkeys-random,\n"
         "                        volatile-random, volatile-ttl\n"
         "  --quiet               no startup lines\n";
}

namespace {

bool parse_number(std::string_view s, uint64_t lo, uint64_t hi, uint64_t& out) {
  auto v = parse_int(s);
  if (!v || *v < 0 || static_cast<uint64_t>(*v) < lo || static_cast<uint64_t>(*v) > hi) return false;
  out = static_cast<uint64_t>(*v);
  return true;
}

bool parse_one(std::string_view opt, std::string_view val, Config& c, std::string& error) {
  auto bad = [&](const char* what) {
    error = "bad value '" + std::string(val) + "' for " + std::string(opt) + ": " + what;
    return false;
  };
  uint64_t n = 0;
  if (opt == "--port") {
    if (!parse_number(val, 1, 65535, n)) return bad("expected 1-65535");
    c.port = static_cast<uint16_t>(n);
  } else if (opt == "--addr") {
    c.addr = val;
  } else if (opt == "--aof") {
    if (val != "on" && val != "off") return bad("expected on or off");
    c.aof = val == "on";
  } else if (opt == "--appendfsync") {
    if (val == "always") c.fsync = FsyncPolicy::kAlways;
    else if (val == "everysec") c.fsync = FsyncPolicy::kEverySec;
    else if (val == "no") c.fsync = FsyncPolicy::kNo;
    else return bad("expected always, everysec or no");
  } else if (opt == "--aof-file") {
    if (val.empty()) return bad("expected a path");
    c.aof_file = val;
  } else if (opt == "--aof-size") {
    auto v = parse_size(val);
    if (!v || *v < (1u << 20)) return bad("expected a size of at least 1M");
    c.aof_size = *v;
  } else if (opt == "--compact-min") {
    auto v = parse_size(val);
    if (!v) return bad("expected a size such as 1M");
    c.compact_min = *v;
  } else if (opt == "--max-bulk") {
    auto v = parse_size(val);
    if (!v || *v < 1024 || *v > (512u << 20)) return bad("expected a size from 1K to 512M");
    c.max_bulk = *v;
  } else if (opt == "--max-clients") {
    if (!parse_number(val, 1, 100000, n)) return bad("expected 1-100000");
    c.max_clients = static_cast<size_t>(n);
  } else if (opt == "--maxmemory") {
    auto v = mem::parse_memory(val);
    if (!v) return bad("expected a size such as 100mb or 0");
    c.maxmemory = *v;
  } else if (opt == "--maxmemory-policy") {
    if (!parse_eviction_policy(val, c.maxmemory_policy)) return bad("expected a maxmemory policy such as allkeys-lru");
  } else {
    error = "unknown option " + std::string(opt);
    return false;
  }
  return true;
}

}  // namespace

bool parse_options(int argc, char** argv, Config& config, bool& help, std::string& error) {
  help = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view opt = argv[i];
    if (opt == "--help" || opt == "-h") {
      help = true;
      return true;
    }
    if (opt == "--quiet") {
      config.quiet = true;
      continue;
    }
    std::string_view val;
    size_t eq = opt.find('=');
    if (opt.starts_with("--") && eq != std::string_view::npos) {  // --port=6380
      val = opt.substr(eq + 1);
      opt = opt.substr(0, eq);
    } else if (i + 1 < argc) {
      val = argv[++i];
    } else {
      error = "option " + std::string(opt) + (opt.starts_with("--") ? " needs a value" : ": unknown option");
      return false;
    }
    if (!parse_one(opt, val, config, error)) return false;
  }
  return true;
}

}  // namespace kv
