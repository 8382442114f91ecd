// Command dispatch: the table of commands with Redis's arity convention (N
// exactly, -N at least N arguments counting the name), the unknown-command
// and arity errors in Redis's words, and the step that makes sure a write
// command can be logged before it runs.
//
// Write commands log themselves through CommandContext::propagate(), in a
// form that replays to the same state later (relative expiry times become
// absolute ones, as in Redis's AOF).
#pragma once

#include <stdint.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aof.h"
#include "config.h"
#include "keyspace.h"

namespace kv {

struct ServerStats {
  int64_t start_mono_ms = 0;
  uint64_t connected_clients = 0;
  uint64_t total_connections = 0;
  uint64_t rejected_connections = 0;
  uint64_t total_commands = 0;
  uint64_t client_buffer_bytes = 0;
};

struct ClientState {
  uint64_t id = 0;
  std::string name;
  bool close_after_reply = false;  // QUIT
  bool output_overflow = false;    // a reply passed the output buffer limit: close, send nothing more
};

struct CommandContext {
  Keyspace& keys;
  const Config& config;
  const ServerStats& stats;
  Aof* aof;  // null without a log, and while replaying it
  ClientState& client;
  std::vector<std::string>& argv;
  std::string& out;
  int64_t now_ms;  // wall clock
  uint64_t out_limit;  // mem::client_buffer_limit()

  size_t argc() const { return argv.size(); }
  // Whether the reply so far is over the client's output limit (then the
  // client is closed): handlers of replies that grow with the data check it
  // as they go, so a reply never grows far past the limit.
  bool out_full() {
    if (out.size() > out_limit) client.output_overflow = true;
    return client.output_overflow;
  }
  template <typename Range>
  void propagate(const Range& args) {
    if (aof) aof->append(args);
  }
  void propagate_argv() { propagate(argv); }
};

using CommandHandler = void (*)(CommandContext&);

struct CommandSpec {
  std::string_view name;  // lower case
  CommandHandler handler;
  int arity;
  uint8_t flags;
};

inline constexpr uint8_t kWrite = 1;      // logs; refused when the log is full
inline constexpr uint8_t kShrinks = 2;    // may use the log's last headroom (DEL, FLUSHALL)
inline constexpr uint8_t kDenyOom = 4;    // may grow memory: refused over maxmemory when eviction cannot help

// The command for `name` in any letter case; nullptr if there is none.
const CommandSpec* find_command(std::string_view name);
size_t command_count();

class Dispatcher final : public ReplayTarget, private RemovalListener {
 public:
  Dispatcher(Keyspace& keys, const Config& config, ServerStats& stats);

  // From here on write commands and expiries are logged to `aof`.
  void attach_log(Aof* aof);
  // Runs one command and appends its reply to `out`.
  void execute(ClientState& client, std::vector<std::string>& argv, std::string& out, int64_t now_ms);
  // One command from the log: no reply, no logging, no statistics.
  void apply(std::vector<std::string>& argv) override;

 private:
  void on_removed(std::string_view key) override;
  uint64_t log_buffer_bytes() const override;

  Keyspace& m_keys;
  const Config& m_config;
  ServerStats& m_stats;
  Aof* m_aof = nullptr;
  ClientState m_replay_client;
  std::string m_replay_out;
};

// Redis's "wrong number of arguments for 'get' command".
void reply_arity_error(std::string& out, std::string_view name);
void reply_not_integer(std::string& out);
void reply_syntax_error(std::string& out);
void reply_wrong_type(std::string& out);
inline constexpr std::string_view kOomError = "OOM command not allowed when used memory > 'maxmemory'.";

// The entry of `key` when it holds `type` (nullptr when there is none); when
// it holds another type, replies WRONGTYPE and returns nullopt. kRead also
// counts a keyspace hit or miss.
enum class Access : bool { kWrite, kRead };
std::optional<Entry*> find_typed(CommandContext& c, std::string_view key, ValueType type, Access access);

}  // namespace kv
