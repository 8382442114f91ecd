#include "fleet_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>
#include <variant>

#include "daemon_client.h"
#include "daemon_main.h"
#include "fleet_top.h"
#include "socket_path.h"

namespace atl::hv::fleet {

using nlohmann::json;

const char* const kFleetVerbsHelp =
    "  daemon [--socket PATH]             run the resident daemon that hosts a fleet of domains\n"
    "  list [--json]                      the daemon's domains: id, name, memory, state, uptime\n"
    "  info [--json]                      the daemon: pid, sockets, number of domains\n"
    "  top [-b] [-d SECONDS] [-n N] [--json]  a live view: CPU, memory, hypercall, event,\n"
    "                                     vif and disk rates per domain\n"
    "  console DOMAIN                     attach to a domain's console (Ctrl-] detaches)\n"
    "  log DOMAIN                         the daemon's log of a domain and its console history\n"
    "  shutdown [-w] DOMAIN, reboot DOMAIN  ask the guest to power off / reboot\n"
    "  destroy DOMAIN                     end a domain at once\n"
    "  pause DOMAIN, unpause DOMAIN       stop and resume a domain's vCPU\n"
    "  xenstore-ls [PATH], xenstore-read PATH, xenstore-write PATH VALUE\n"
    "                                     the daemon's shared xenstore\n";

namespace {

constexpr int kExitError = 125;

// What a verb takes besides --socket.
enum class Operands { kNone, kDomain, kOptionalPath, kPath, kPathValue };

struct VerbSpec {
  const char* name;
  const char* description;
  Operands operands;
  const char* json_flag = nullptr;  // --json's help, when it takes --json
};

const VerbSpec kVerbSpecs[] = {
    {"daemon",
     "Runs the resident daemon in the foreground: one event loop and one xenstore for\n"
     "many domains, a Unix socket (mode 0600) for the verbs. SIGINT or SIGTERM destroys\n"
     "every domain and stops it; if it is killed outright, its domains die with it.",
     Operands::kNone},
    {"list", "Lists the daemon's domains.", Operands::kNone, "a JSON array, one object per domain"},
    {"info", "Describes the daemon.", Operands::kNone, "one JSON object"},
    {"top", "A live view of the daemon's domains (fleet_top.cpp reads its own options).", Operands::kNone},
    {"console",
     "Attaches this terminal to the domain's console: its history first, then its\n"
     "live output; what you type goes to the guest. Ctrl-] (or the end of input)\n"
     "detaches; the daemon keeps the output for the next attach.",
     Operands::kDomain},
    {"log",
     "Prints the daemon's log of the domain (created, ended and why, restarts) and its\n"
     "console history; a domain that has gone is still found by name.",
     Operands::kDomain},
    {"shutdown", "Asks the guest to power off (control/shutdown = poweroff, as xl does).", Operands::kDomain},
    {"reboot", "Asks the guest to reboot (control/shutdown = reboot).", Operands::kDomain},
    {"destroy", "Ends the domain at once, whatever its on_* policy says.", Operands::kDomain},
    {"pause", "Stops the domain's vCPU; its timers and events wait for unpause.", Operands::kDomain},
    {"unpause", "Resumes a paused domain.", Operands::kDomain},
    {"xenstore-ls", "Lists the shared xenstore's tree below PATH (default /).", Operands::kOptionalPath},
    {"xenstore-read", "Prints the value at PATH.", Operands::kPath},
    {"xenstore-write", "Writes VALUE at PATH (as domain 0).", Operands::kPathValue},
};

const VerbSpec* find_verb(const std::string& verb) {
  for (const VerbSpec& v : kVerbSpecs)
    if (verb == v.name) return &v;
  return nullptr;
}

// A verb's command line, once read.
struct VerbArgs {
  std::string socket_path, domain, path = "/", value, trusted_keys;
  bool as_json = false, wait = false, require_signed = false;
  unsigned sandbox_pool = kDefaultSandboxPool;
};

const char* const kFooter =
    "DOMAIN is a domain's name or id. The daemon is found at $ATOLL_SOCKET, else at the\n"
    "per-user default (`atoll info` prints it); see docs/fleet.md.";

void print_list(const json& answer) {
  printf("%-24s %5s %8s  %-10s %10s %8s\n", "Name", "ID", "Mem(MiB)", "State", "Time(s)", "Restarts");
  for (const json& d : answer["domains"])
    printf("%-24s %5d %8llu  %-10s %10.1f %8u\n", d.value("name", std::string()).c_str(), d.value("id", 0),
           static_cast<unsigned long long>(d.value("memory_mib", 0ULL)), d.value("state", std::string()).c_str(),
           d.value("uptime_s", 0.0), d.value("restarts", 0U));
}

// shutdown -w: until the domain has left the daemon's list.
int wait_gone(const std::string& socket_path, const std::string& domain) {
  for (;;) {
    auto answer = ask_daemon(socket_path, json{{"verb", "list"}});
    if (!answer) return kExitError;
    bool present = false;
    for (const json& d : (*answer)["domains"])
      if (d.value("name", std::string()) == domain || std::to_string(d.value("id", 0)) == domain) present = true;
    if (!present) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

bool is_fleet_verb(const std::string& verb) { return find_verb(verb) != nullptr; }

namespace {

// Reads the verb's arguments with CLI11; the exit status instead when it
// printed help or an error.
std::variant<VerbArgs, int> parse_verb(const VerbSpec& spec, int argc, char** argv) {
  VerbArgs a;
  CLI::App app{spec.description, std::string("atoll ") + spec.name};
  app.footer(kFooter);
  app.add_option("--socket", a.socket_path, "the daemon's socket (default: $ATOLL_SOCKET or the per-user path)");
  if (spec.json_flag) app.add_flag("--json", a.as_json, spec.json_flag);
  if (std::string(spec.name) == "shutdown") app.add_flag("-w,--wait", a.wait, "wait until the domain is gone");
  if (std::string(spec.name) == "daemon") {
    app.add_flag("--require-signed", a.require_signed,
                 "create only images signed by a key in --trusted-keys, whatever a create asks");
    app.add_option("--trusted-keys", a.trusted_keys, "public keys (*.pub, from `atoll keygen`); implies --require-signed");
    app.add_option("--sandbox-pool", a.sandbox_pool,
                   "guest processes started ahead of creates, so a create does not wait for a spawn (0: none)")
        ->check(CLI::Range(0U, 256U))
        ->capture_default_str();
  }
  switch (spec.operands) {
    case Operands::kNone: break;
    case Operands::kDomain: app.add_option("DOMAIN", a.domain, "the domain's name or id")->required(); break;
    case Operands::kOptionalPath: app.add_option("PATH", a.path, "a xenstore path"); break;
    case Operands::kPath: app.add_option("PATH", a.path, "a xenstore path")->required(); break;
    case Operands::kPathValue:
      app.add_option("PATH", a.path, "a xenstore path")->required();
      app.add_option("VALUE", a.value, "the value")->required();
      break;
  }
  try {
    app.parse(argc, argv);  // argv[0], the verb, is the name CLI11 skips
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "atoll %s: %s\nTry `atoll %s --help`.\n", spec.name, e.what(), spec.name);
    return kExitError;
  }
  return a;
}

// Prints a successful answer the way the verb shows it.
void print_answer(const std::string& verb, const VerbArgs& a, json& answer) {
  if (verb == "list") {
    if (a.as_json) printf("%s\n", answer["domains"].dump(2).c_str());
    else print_list(answer);
  } else if (verb == "info") {
    answer.erase("ok");
    if (a.as_json) {
      printf("%s\n", answer.dump(2).c_str());
      return;
    }
    for (auto& [key, v] : answer.items())
      printf("%-16s: %s\n", key.c_str(), v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
  } else if (verb == "log") {
    fputs(answer["log"].get<std::string>().c_str(), stdout);
    printf("--- console history ---\n%s", answer["console"].get<std::string>().c_str());
  } else if (verb == "xenstore-read") {
    printf("%s\n", answer["value"].get<std::string>().c_str());
  } else if (verb == "xenstore-ls") {
    fputs(answer["text"].get<std::string>().c_str(), stdout);
  }
}

}  // namespace

int cmd_fleet(int argc, char** argv) {
  const std::string verb = argv[0];
  const VerbSpec* spec = find_verb(verb);
  if (!spec) return kExitError;
  if (verb == "top") return cmd_top(argc, argv);
  auto parsed = parse_verb(*spec, argc, argv);
  if (auto* status = std::get_if<int>(&parsed)) return *status;
  VerbArgs& a = std::get<VerbArgs>(parsed);
  bool named = !a.socket_path.empty() || getenv("ATOLL_SOCKET");
  std::string socket_path = a.socket_path.empty() ? default_socket_path() : a.socket_path;
  if (verb == "daemon") {
    if (a.require_signed && a.trusted_keys.empty()) {
      fprintf(stderr, "atoll daemon: --require-signed needs --trusted-keys DIR\n");
      return kExitError;
    }
    return run_daemon(socket_path, named, a.trusted_keys, a.sandbox_pool);
  }
  if (verb == "console") {
    auto client = connect_or_report(socket_path);
    return client ? client->console(json{{"verb", "console"}, {"domain", a.domain}}, socket_path) : kExitError;
  }
  json request{{"verb", verb}};
  if (!a.domain.empty()) request["domain"] = a.domain;
  if (verb.rfind("xenstore-", 0) == 0) request["path"] = a.path;
  if (verb == "xenstore-write") request["value"] = a.value;
  auto answer = ask_daemon(socket_path, request);
  if (!answer) return verb == "xenstore-read" ? 1 : kExitError;
  print_answer(verb, a, *answer);
  if (verb == "shutdown" && a.wait) return wait_gone(socket_path, a.domain);
  return 0;
}
std::optional<int> create_on_daemon(const std::vector<std::string>& run_args, bool console) {
  std::string socket_path = default_socket_path();
  std::optional<DaemonClient> client;
  std::string error;
  switch (DaemonClient::connect(socket_path, client, error)) {
    case DaemonClient::Reach::kNoDaemon: return std::nullopt;
    // The user meant the daemon, which is not there to keep the domain: say
    // so rather than run it in the foreground, where it may run for ever.
    case DaemonClient::Reach::kGone:
      fprintf(stderr, "atoll: %s, or add -F to run the domain in the foreground\n", error.c_str());
      return kExitError;
    case DaemonClient::Reach::kRefused: fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitError;
    case DaemonClient::Reach::kConnected: break;
  }
  auto announce = [](const json& answer) {
    printf("domain %s created: id %d\n", answer.value("name", std::string()).c_str(), answer.value("domid", 0));
    fflush(stdout);
  };
  // -c attaches on the same connection, in the daemon's same turn: a guest
  // that runs and ends at once (hello) is never gone before its console is there.
  if (console) {
    bool created = false;
    int status = client->console(json{{"verb", "create"}, {"args", run_args}, {"console", true}}, socket_path,
                                 [&](const json& answer) { created = true; announce(answer); });
    return created ? status : kExitError;
  }
  json answer = client->request(json{{"verb", "create"}, {"args", run_args}});
  if (!answer.value("ok", false)) {
    fprintf(stderr, "atoll: %s\n", answer.value("error", std::string("the daemon refused")).c_str());
    return kExitError;
  }
  announce(answer);
  return 0;
}

}  // namespace atl::hv::fleet
