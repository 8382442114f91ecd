// kvstore: a Redis-protocol key-value server with an append-only log.
// Native build: the log lives in a file used as a disk (--aof-file); Atoll
// guest: on the first virtual disk.
#include <stdio.h>

#include <memory>
#include <optional>
#include <string>

#include "aof.h"
#include "commands.h"
#include "config.h"
#include "keyspace.h"
#include "log_device.h"
#include "memory.h"
#include "numbers.h"
#include "server.h"
#include "timeutil.h"

using namespace kv;

namespace {

std::unique_ptr<LogDevice> open_device(const Config& config, std::string& error) {
#ifdef __atoll__
  (void)config;
  return try_open_block_log_device(error);
#else
  return try_open_file_log_device(config.aof_file, config.aof_size, error);
#endif
}

void report_recovery(const RecoveryReport& r) {
  if (r.dropped_bytes == 0) return;
  printf("kvstore: log recovery: dropped %llu bytes of a torn tail at offset %llu\n",
         static_cast<unsigned long long>(r.dropped_bytes), static_cast<unsigned long long>(r.dropped_at));
}

void report_memory(const MemoryLimit& limit, const mem::HeapFigures& heap, bool set) {
  std::string max = limit.maxmemory ? human_size(limit.maxmemory) : "0 (no limit)";
  std::string from = set ? "" : heap.limit ? " (40% of the heap left of " + human_size(heap.limit) + ")" : "";
  printf("kvstore: maxmemory %s%s, policy %s\n", max.c_str(), from.c_str(), eviction_policy_name(limit.policy));
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  bool help = false;
  std::string error;
  if (!parse_options(argc, argv, config, help, error)) {
    fprintf(stderr, "kvstore: %s\n%s", error.c_str(), usage());
    return 2;
  }
  if (help) {
    fputs(usage(), stdout);
    return 0;
  }

  // The log's device first: its write buffers (write_behind.h) are taken
  // from the heap before maxmemory's default is cut from what is left.
  std::unique_ptr<LogDevice> device;
  if (config.aof && !(device = open_device(config, error))) {
    fprintf(stderr, "kvstore: %s\n", error.c_str());
    return 1;
  }
  Keyspace keys;
  MemoryLimit limit;
  mem::HeapFigures heap = mem::heap_figures();
  limit.maxmemory = config.maxmemory ? *config.maxmemory : mem::default_maxmemory(heap);
  limit.policy = config.maxmemory_policy;
  keys.set_limit(limit);
  ServerStats stats;
  stats.start_mono_ms = monotonic_ms();
  Dispatcher dispatcher(keys, config, stats);
  std::optional<Aof> aof;
  if (device) {
    aof.emplace(*device, Aof::Settings{config.fsync, config.compact_min});
    Aof::Status s = aof->open(dispatcher);
    if (s != Aof::Status::kOk) {
      fprintf(stderr, "kvstore: cannot open the append-only log: %s\n", Aof::describe(s));
      return 1;
    }
    report_recovery(aof->recovery());
    dispatcher.attach_log(&*aof);
  }

  Server server(config, dispatcher, keys, aof ? &*aof : nullptr, stats);
  if (!server.try_listen(error)) {
    fprintf(stderr, "kvstore: %s\n", error.c_str());
    return 1;
  }
  if (!config.quiet) {
    report_memory(keys.limit(), heap, config.maxmemory.has_value());
    printf("kvstore: listening on %s:%u, aof=%s, appendfsync=%s\n", config.addr.c_str(), config.port,
           config.aof ? "on" : "off", fsync_policy_name(config.fsync));
  }
  fflush(stdout);
  return server.run();
}
