// atoll: the command line. `atoll run IMAGE` builds one domain from an appliance
// image and runs it in the foreground with its console on stdout.
#include <malloc.h>

#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli_image.h"
#include "create.h"
#include "daemon/fleet_cli.h"
#include "run.h"
#include "atoll/hosted_abi.h"

using namespace atl::hv;

namespace {

const char* const kMainHelpHead =
    "usage: atoll <command> [options]\n"
    "\n"
    "Atoll runs appliance images (Xen PV guests linked against the Atoll library OS)\n"
    "as sandboxed processes on this Linux host, without KVM and without root.\n"
    "\n"
    "commands:\n"
    "  run IMAGE [options] [-- ARGS...]   run one appliance in the foreground\n"
    "  create CFG [-n] [-c] [KEY=VALUE...]  create the domain a config (xl.cfg syntax) describes,\n"
    "                                     on the daemon if one runs, else in the foreground;\n"
    "                                     -n: check it and print it resolved\n"
    "  seal ELF -o IMAGE [options]        seal an ELF, an archive and a manifest into an image\n"
    "  inspect IMAGE [--json]             verify an image; print its manifest, digest, signature\n"
    "  keygen -o KEYBASE                  make an Ed25519 key pair for signing images\n"
    "  sign --key SECRET IMAGE            sign a sealed image in place\n"
    "  version                            print the version and the Xen ABI spoken\n"
    "\n"
    "a fleet under the resident daemon (docs/fleet.md):\n";

const char* const kMainHelpTail =
    "\n"
    "  help [COMMAND]                     show help for a command\n"
    "\n"
    "Run `atoll COMMAND --help` for a command's options; docs/images.md describes images.\n";

void print_main_help(FILE* to) {
  fputs(kMainHelpHead, to);
  fputs(fleet::kFleetVerbsHelp, to);
  fputs(kMainHelpTail, to);
}

int run_command(int argc, char** argv) {
  if (argc < 2) { print_main_help(stderr); return kExitAtollError; }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help") { print_main_help(stdout); return 0; }
  if (cmd == "help") {
    std::string topic = argc > 2 ? argv[2] : "";
    if (topic == "run") fputs(kRunHelp, stdout);
    else if (topic == "create") fputs(kCreateHelp, stdout);
    else if (topic == "seal") fputs(kSealHelp, stdout);
    else if (topic == "inspect") fputs(kInspectHelp, stdout);
    else if (topic == "keygen") fputs(kKeygenHelp, stdout);
    else if (topic == "sign") fputs(kSignHelp, stdout);
    else if (argc > 2 && std::string(argv[2]) == "version") fputs("usage: atoll version\n\nPrints the version of atoll and the Xen ABI it implements.\n", stdout);
    else if (fleet::is_fleet_verb(topic)) {
      char* help_argv[] = {argv[2], const_cast<char*>("--help"), nullptr};
      return fleet::cmd_fleet(2, help_argv);
    } else print_main_help(stdout);
    return 0;
  }
  if (cmd == "run") return cmd_run(std::vector<std::string>(argv + 2, argv + argc));
  if (cmd == "create") return cmd_create(argc - 2, argv + 2);
  if (cmd == "seal") return cmd_seal(argc - 2, argv + 2);
  if (cmd == "inspect") return cmd_inspect(argc - 2, argv + 2);
  if (cmd == "keygen") return cmd_keygen(argc - 2, argv + 2);
  if (cmd == "sign") return cmd_sign(argc - 2, argv + 2);
  if (fleet::is_fleet_verb(cmd)) return fleet::cmd_fleet(argc - 1, argv + 1);
  if (cmd == "version" || cmd == "--version") {
    if (argc > 2 && (std::string(argv[2]) == "-h" || std::string(argv[2]) == "--help")) {
      fputs("usage: atoll version\n\nPrints the version of atoll and the Xen ABI it implements.\n", stdout);
      return 0;
    }
    printf("atoll 0.1.0 (hosted hypervisor; Xen 4.17 PV ABI, interface 0x%x)\n", __XEN_INTERFACE_VERSION__);
    return 0;
  }
  fprintf(stderr, "atoll: unknown command `%s`\n\n", cmd.c_str());
  print_main_help(stderr);
  return kExitAtollError;
}

}  // namespace

// Whatever escapes (bad_alloc, a library's exception) is reported as atoll's
// own failure, not an abort with a core dump.
int main(int argc, char** argv) {
  // A page fault costs about 10 us on these hosts (docs/mechanisms.md), so
  // memory freed after a burst (a TCP forward's buffers, a frame) stays in
  // the heap for the next one instead of going back to the kernel and
  // faulting in again: 1 MiB freshly mapped is 2.5 ms of faults.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  try {
    return run_command(argc, argv);
  } catch (const std::exception& e) {
    fprintf(stderr, "atoll: internal error: %s\n", e.what());
  } catch (...) {
    fprintf(stderr, "atoll: internal error: an unknown exception\n");
  }
  return kExitAtollError;
}
