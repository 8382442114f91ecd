// INFO: Redis's text format ("# Section", then "field:value" lines, a blank
// line between sections) with the fields a kvstore has.
#include <string_view>

#include "command_handlers.h"
#include "memory.h"
#include "numbers.h"
#include "resp.h"
#include "timeutil.h"

namespace kv {

namespace {

class InfoText {
 public:
  void section(std::string_view name) {
    if (!m_text.empty()) m_text += "\r\n";
    m_text += "# ";
    m_text += name;
    m_text += "\r\n";
  }
  void field(std::string_view name, std::string_view value) {
    m_text += name;
    m_text += ':';
    m_text += value;
    m_text += "\r\n";
  }
  void field(std::string_view name, uint64_t value) { field(name, int_to_string(static_cast<int64_t>(value))); }
  const std::string& text() const { return m_text; }

 private:
  std::string m_text;
};

void memory_section(const CommandContext& c, InfoText& info) {
  uint64_t used = mem::used(), peak = mem::peak(), max = c.keys.limit().maxmemory;
  mem::HeapFigures heap = mem::heap_figures();
  info.section("Memory");
  info.field("used_memory", used);
  info.field("used_memory_human", human_size(used));
  info.field("used_memory_peak", peak);
  info.field("used_memory_peak_human", human_size(peak));
  info.field("used_memory_dataset", c.keys.live_bytes());
  info.field("maxmemory", max);
  info.field("maxmemory_human", human_size(max));
  info.field("maxmemory_policy", eviction_policy_name(c.keys.limit().policy));
  info.field("mem_not_counted_for_evict", c.aof ? c.aof->buffer_bytes() : 0);
  info.field("client_buffers", c.stats.client_buffer_bytes);
  info.field("heap_limit", heap.limit);  // 0: unknown (the native build)
  info.field("heap_mapped", heap.mapped);
  info.field("heap_in_use", heap.in_use);
  info.field("heap_free", heap.free);
}

void server_section(const CommandContext& c, InfoText& info) {
  uint64_t uptime = static_cast<uint64_t>(monotonic_ms() - c.stats.start_mono_ms) / 1000;
  info.section("Server");
  info.field("atoll_kvstore_version", kVersion);
#ifdef __atoll__
  info.field("os", "Atoll");
#else
  info.field("os", "Linux (native build)");
#endif
  info.field("arch_bits", "64");
  info.field("multiplexing_api", "poll");
  info.field("tcp_port", c.config.port);
  info.field("uptime_in_seconds", uptime);
  info.field("uptime_in_days", uptime / 86400);
}

void persistence_section(const CommandContext& c, InfoText& info) {
  info.section("Persistence");
  info.field("loading", "0");
  info.field("aof_enabled", c.aof ? "1" : "0");
  if (!c.aof) return;
  const RecoveryReport& r = c.aof->recovery();
  info.field("aof_fsync", fsync_policy_name(c.aof->fsync()));
  info.field("aof_rewrite_in_progress", "0");
  info.field("aof_rewrites", c.aof->compactions());
  info.field("aof_last_write_status", c.aof->failed() ? "err" : "ok");
  info.field("aof_current_size", c.aof->log_bytes());
  info.field("aof_base_size", c.aof->base_bytes());
  info.field("aof_region_size", c.aof->region_size());
  info.field("aof_device_size", c.aof->capacity());
  info.field("aof_generation", c.aof->generation());
  info.field("aof_epoch", c.aof->epoch());
  LogDevice::IoStats io = c.aof->io_stats();
  info.field("aof_device_writes", io.writes);
  info.field("aof_device_flushes", io.flushes);
  info.field("aof_device_waits", io.waits);
  info.field("aof_loaded_records", r.records);
  info.field("aof_recovery_dropped_bytes", r.dropped_bytes);
}

void stats_section(const CommandContext& c, InfoText& info) {
  info.section("Stats");
  info.field("total_connections_received", c.stats.total_connections);
  info.field("total_commands_processed", c.stats.total_commands);
  info.field("rejected_connections", c.stats.rejected_connections);
  info.field("expired_keys", c.keys.expired_keys());
  info.field("evicted_keys", c.keys.evicted_keys());
  info.field("keyspace_hits", c.keys.hits());
  info.field("keyspace_misses", c.keys.misses());
}

void keyspace_section(const CommandContext& c, InfoText& info) {
  info.section("Keyspace");
  if (c.keys.size() == 0) return;  // Redis lists only databases with keys
  std::string db = "keys=" + int_to_string(static_cast<int64_t>(c.keys.size())) +
                   ",expires=" + int_to_string(static_cast<int64_t>(c.keys.expires())) + ",avg_ttl=0";
  info.field("db0", db);
}

}  // namespace

void cmd_info(CommandContext& c) {
  auto want = [&](std::string_view name) {
    if (c.argc() == 1) return true;
    for (size_t i = 1; i < c.argc(); ++i) {
      const std::string& a = c.argv[i];
      if (equals_lower(a, "all") || equals_lower(a, "default") || equals_lower(a, "everything") ||
          equals_lower(a, name))
        return true;
    }
    return false;
  };
  InfoText info;
  if (want("server")) server_section(c, info);
  if (want("clients")) {
    info.section("Clients");
    info.field("connected_clients", c.stats.connected_clients);
    info.field("maxclients", c.config.max_clients);
  }
  if (want("memory")) memory_section(c, info);
  if (want("persistence")) persistence_section(c, info);
  if (want("stats")) stats_section(c, info);
  if (want("keyspace")) keyspace_section(c, info);
  reply::bulk(c.out, info.text());
}

}  // namespace kv
