#include "fleet_cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "daemon_client.h"
#include "daemon_main.h"
#include "socket_path.h"

namespace atl::hv::fleet {

using nlohmann::json;

const char* const kFleetVerbsHelp =
    "  daemon [--socket PATH]             run the resident daemon that hosts a fleet of domains\n"
    "  list [--json]                      the daemon's domains: id, name, memory, state, uptime\n"
    "  info [--json]                      the daemon: pid, sockets, number of domains\n"
    "  console DOMAIN                     attach to a domain's console (Ctrl-] detaches)\n"
    "  log DOMAIN                         the daemon's log of a domain and its console history\n"
    "  shutdown [-w] DOMAIN, reboot DOMAIN  ask the guest to power off / reboot\n"
    "  destroy DOMAIN                     end a domain at once\n"
    "  pause DOMAIN, unpause DOMAIN       stop and resume a domain's vCPU\n"
    "  xenstore-ls [PATH], xenstore-read PATH, xenstore-write PATH VALUE\n"
    "                                     the daemon's shared xenstore\n";

namespace {

constexpr int kExitError = 125;
const char* const kVerbs[] = {"daemon",  "list",    "info",        "console",      "log",           "shutdown", "reboot",
                              "destroy", "pause",   "unpause",     "xenstore-ls",  "xenstore-read", "xenstore-write"};

const char* const kFooter =
    "DOMAIN is a domain's name or id. The daemon is found at $ATOLL_SOCKET, else at the\n"
    "per-user default (`atoll info` prints it); see docs/fleet.md.";

std::optional<DaemonClient> connect_or_report(const std::string& socket_path) {
  std::optional<DaemonClient> client;
  std::string error;
  if (DaemonClient::connect(socket_path, client, error) != DaemonClient::Reach::kConnected)
    fprintf(stderr, "atoll: %s\n", error.c_str());
  return client;
}

// Sends `request`; prints the daemon's error and returns nullopt on failure.
std::optional<json> ask(const std::string& socket_path, const json& request) {
  auto client = connect_or_report(socket_path);
  if (!client) return std::nullopt;
  json answer = client->request(request);
  if (!answer.value("ok", false)) {
    fprintf(stderr, "atoll: %s\n", answer.value("error", std::string("the daemon refused")).c_str());
    return std::nullopt;
  }
  return answer;
}

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
    auto answer = ask(socket_path, json{{"verb", "list"}});
    if (!answer) return kExitError;
    bool present = false;
    for (const json& d : (*answer)["domains"])
      if (d.value("name", std::string()) == domain || std::to_string(d.value("id", 0)) == domain) present = true;
    if (!present) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

bool is_fleet_verb(const std::string& verb) {
  for (const char* v : kVerbs)
    if (verb == v) return true;
  return false;
}

int cmd_fleet(int argc, char** argv) {
  const std::string verb = argv[0];
  CLI::App app{"", "atoll " + verb};
  app.footer(kFooter);
  std::string socket_path, domain, path, value;
  bool as_json = false, wait = false;
  app.add_option("--socket", socket_path, "the daemon's socket (default: $ATOLL_SOCKET or the per-user path)");
  auto needs_domain = [&](const char* what) {
    app.description(what);
    app.add_option("DOMAIN", domain, "the domain's name or id")->required();
  };
  if (verb == "daemon") app.description("Runs the resident daemon in the foreground: one event loop and one xenstore for\nmany domains, a Unix socket (mode 0600) for the verbs. SIGINT or SIGTERM destroys\nevery domain and stops it; if it is killed outright, its domains die with it.");
  else if (verb == "list") { app.description("Lists the daemon's domains."); app.add_flag("--json", as_json, "a JSON array, one object per domain"); }
  else if (verb == "info") { app.description("Describes the daemon."); app.add_flag("--json", as_json, "one JSON object"); }
  else if (verb == "console") needs_domain("Attaches this terminal to the domain's console: its history first, then its\nlive output; what you type goes to the guest. Ctrl-] (or the end of input)\ndetaches; the daemon keeps the output for the next attach.");
  else if (verb == "log") needs_domain("Prints the daemon's log of the domain (created, ended and why, restarts) and its\nconsole history; a domain that has gone is still found by name.");
  else if (verb == "shutdown") {
    needs_domain("Asks the guest to power off (control/shutdown = poweroff, as xl does).");
    app.add_flag("-w,--wait", wait, "wait until the domain is gone");
  } else if (verb == "reboot") needs_domain("Asks the guest to reboot (control/shutdown = reboot).");
  else if (verb == "destroy") needs_domain("Ends the domain at once, whatever its on_* policy says.");
  else if (verb == "pause") needs_domain("Stops the domain's vCPU; its timers and events wait for unpause.");
  else if (verb == "unpause") needs_domain("Resumes a paused domain.");
  else if (verb == "xenstore-ls") { app.description("Lists the shared xenstore's tree below PATH (default /)."); path = "/"; app.add_option("PATH", path, "a xenstore path"); }
  else if (verb == "xenstore-read") { app.description("Prints the value at PATH."); app.add_option("PATH", path, "a xenstore path")->required(); }
  else if (verb == "xenstore-write") {
    app.description("Writes VALUE at PATH (as domain 0).");
    app.add_option("PATH", path, "a xenstore path")->required();
    app.add_option("VALUE", value, "the value")->required();
  }
  try {
    app.parse(argc, argv);  // argv[0], the verb, is the name CLI11 skips
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fprintf(stderr, "atoll %s: %s\nTry `atoll %s --help`.\n", verb.c_str(), e.what(), verb.c_str());
    return kExitError;
  }
  bool named = !socket_path.empty() || getenv("ATOLL_SOCKET");
  if (socket_path.empty()) socket_path = default_socket_path();

  if (verb == "daemon") return run_daemon(socket_path, named);
  if (verb == "console") {
    auto client = connect_or_report(socket_path);
    return client ? client->console(domain, socket_path) : kExitError;
  }
  json request{{"verb", verb}};
  if (!domain.empty()) request["domain"] = domain;
  if (verb.rfind("xenstore-", 0) == 0) request["path"] = path;
  if (verb == "xenstore-write") request["value"] = value;
  auto answer = ask(socket_path, request);
  if (!answer) return verb == "xenstore-read" ? 1 : kExitError;
  if (verb == "list") {
    if (as_json) printf("%s\n", (*answer)["domains"].dump(2).c_str());
    else print_list(*answer);
  } else if (verb == "info") {
    answer->erase("ok");
    if (as_json) printf("%s\n", answer->dump(2).c_str());
    else for (auto& [key, v] : answer->items()) printf("%-16s: %s\n", key.c_str(), v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
  } else if (verb == "log") {
    fputs((*answer)["log"].get<std::string>().c_str(), stdout);
    printf("--- console history ---\n%s", (*answer)["console"].get<std::string>().c_str());
  } else if (verb == "xenstore-read") {
    printf("%s\n", (*answer)["value"].get<std::string>().c_str());
  } else if (verb == "xenstore-ls") {
    fputs((*answer)["text"].get<std::string>().c_str(), stdout);
  } else if (verb == "shutdown" && wait) {
    return wait_gone(socket_path, domain);
  }
  return 0;
}

std::optional<int> create_on_daemon(const std::vector<std::string>& run_args, bool console) {
  std::string socket_path = default_socket_path();
  std::optional<DaemonClient> client;
  std::string error;
  switch (DaemonClient::connect(socket_path, client, error)) {
    case DaemonClient::Reach::kNoDaemon: return std::nullopt;
    case DaemonClient::Reach::kRefused: fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitError;
    case DaemonClient::Reach::kConnected: break;
  }
  json answer = client->request(json{{"verb", "create"}, {"args", run_args}});
  if (!answer.value("ok", false)) {
    fprintf(stderr, "atoll: %s\n", answer.value("error", std::string("the daemon refused")).c_str());
    return kExitError;
  }
  int domid = answer.value("domid", 0);
  printf("domain %s created: id %d\n", answer.value("name", std::string()).c_str(), domid);
  fflush(stdout);
  if (!console) return 0;
  auto attach = connect_or_report(socket_path);
  return attach ? attach->console(std::to_string(domid), socket_path) : kExitError;
}

}  // namespace atl::hv::fleet
