#include "create.h"

#include <cstdio>
#include <string>
#include <vector>

#include "daemon/fleet_cli.h"
#include "run.h"
#include "run_args.h"

namespace atl::hv {

const char* const kCreateHelp =
    "usage: atoll create CFG [options] [KEY=VALUE...]\n"
    "\n"
    "Creates the domain that the config CFG describes (the syntax of Xen's xl.cfg; see\n"
    "docs/config.md), with each KEY=VALUE applied on top.\n"
    "\n"
    "When an atoll daemon is running (`atoll daemon`; found at $ATOLL_SOCKET or the\n"
    "per-user default), the domain is created there and its id printed; it keeps\n"
    "running after this command returns (docs/fleet.md). Where no daemon's socket is,\n"
    "it runs in the foreground exactly as `atoll run` does with the equivalent flags,\n"
    "which -n prints: the console is this terminal, the exit status is `atoll run`'s.\n"
    "A socket left by a daemon that was killed is an error (-F runs it anyway).\n"
    "\n"
    "options:\n"
    "  -n, --dry-run   check the config and print it resolved, and the equivalent\n"
    "                  `atoll run` command; start nothing (as `xl create -n`)\n"
    "  -c              attach the console after creating it on the daemon (in the\n"
    "                  foreground it always is)\n"
    "  -F              run in the foreground even when a daemon is running\n"
    "  -v, --verbose   print the hypervisor's boot log with timings to stderr\n"
    "  -h, --help      show this help\n";

int cmd_create(int argc, char** argv) {
  std::string path;
  std::vector<std::string> overrides;
  bool dry_run = false, verbose = false, console = false, foreground = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      fputs(kCreateHelp, stdout);
      return 0;
    }
    if (a == "-n" || a == "--dry-run") dry_run = true;
    else if (a == "-c") console = true;
    else if (a == "-F") foreground = true;
    else if (a == "-v" || a == "--verbose") verbose = true;
    else if (!a.empty() && a[0] == '-') {
      fprintf(stderr, "atoll: create: unknown option %s\nTry `atoll create --help`.\n", a.c_str());
      return kExitAtollError;
    } else if (path.empty()) path = a;
    else overrides.push_back(a);
  }
  if (path.empty()) {
    fputs("atoll: create needs a config file\nTry `atoll create --help`.\n", stderr);
    return kExitAtollError;
  }
  auto spec = load_domain_spec(path, overrides);
  if (!spec.ok()) {
    fprintf(stderr, "atoll: %s\n", spec.error().to_string().c_str());
    return kExitAtollError;
  }
  auto args = run_args(spec.value());
  if (!args.ok()) {
    fprintf(stderr, "atoll: %s: %s\n", path.c_str(), args.error().message.c_str());
    return kExitAtollError;
  }
  if (verbose) args.value().insert(args.value().begin(), "--verbose");
  if (dry_run) {
    printf("%s# the same domain as:\n# %s\n", spec.value().to_cfg().c_str(), shell_command(args.value()).c_str());
    return 0;
  }
  if (!foreground)
    if (auto status = fleet::create_on_daemon(args.value(), console)) return *status;
  args.value().insert(args.value().begin(), "--no-daemon");  // -F, or no daemon answered
  return cmd_run(args.value());
}

}  // namespace atl::hv
