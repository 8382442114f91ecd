// atoll: the command line. `atoll run IMAGE` builds one domain from an appliance
// image and runs it in the foreground with its console on stdout.
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "atoll/hosted_abi.h"
#include "blkback.h"
#include "create.h"
#include "console_backend.h"
#include "domain.h"
#include "xenstore_link.h"
#include "xenstored.h"
#include "decimal.h"
#include "cli_image.h"
#include "elf_image.h"
#include "image/image_file.h"
#include "netback.h"
#include "run_options.h"
#include "uplink.h"

using namespace atl::hv;
using atl::hv::image::Manifest;

namespace {

// Exit statuses of `atoll run` other than the guest's own poweroff status.
constexpr int kExitAtollError = 125;
constexpr int kExitReboot = 128;
constexpr int kExitCrash = 134;
constexpr int kExitForbiddenSyscall = 159;  // 128 + SIGSYS
constexpr int kExitInterrupted = 130;

const char* kMainHelp =
    "usage: atoll <command> [options]\n"
    "\n"
    "Atoll runs appliance images (Xen PV guests linked against the Atoll library OS)\n"
    "as sandboxed processes on this Linux host, without KVM and without root.\n"
    "\n"
    "commands:\n"
    "  run IMAGE [options] [-- ARGS...]   run one appliance in the foreground\n"
    "  create CFG [-n] [KEY=VALUE...]     run the domain a config (xl.cfg syntax) describes;\n"
    "                                     -n: check it and print it resolved\n"
    "  seal ELF -o IMAGE [options]        seal an ELF, an archive and a manifest into an image\n"
    "  inspect IMAGE [--json]             verify an image; print its manifest, digest, signature\n"
    "  keygen -o KEYBASE                  make an Ed25519 key pair for signing images\n"
    "  sign --key SECRET IMAGE            sign a sealed image in place\n"
    "  version                            print the version and the Xen ABI spoken\n"
    "  help [COMMAND]                     show help for a command\n"
    "\n"
    "Run `atoll COMMAND --help` for a command's options; docs/images.md describes images.\n";

const char* kRunHelp =
    "usage: atoll run IMAGE [options] [-- ARGS...]\n"
    "\n"
    "Builds a domain from IMAGE and runs it in the foreground. The guest's console is\n"
    "this terminal's stdout; ARGS become the guest's argv[1...].\n"
    "\n"
    "IMAGE is a sealed image (`atoll seal`) or a bare ELF. A sealed image is verified\n"
    "before any domain exists, and its manifest supplies defaults: memory, vifs,\n"
    "published ports (unless -p or --net is given), disks (a required one must be given\n"
    "with --disk) and the guest arguments (unless ARGS are given). Options override them.\n"
    "\n"
    "options:\n"
    "  -m, --memory SIZE        guest memory, e.g. 16M, 512K, 1G (default 16M)\n"
    "  -n, --name NAME          domain name (default: the image's file name)\n"
    "      --on-poweroff ACTION what to do when the guest powers off   (default destroy)\n"
    "      --on-reboot ACTION   what to do when the guest reboots      (default restart)\n"
    "      --on-crash ACTION    what to do when the guest crashes      (default destroy)\n"
    "                           ACTION is destroy, restart or preserve (keep the stopped\n"
    "                           domain until Ctrl-C, e.g. to attach a debugger's eyes)\n"
    "      --max-restarts N     give up after N restarts in a row (default 10)\n"
    "      --console-log FILE   also append everything the guest prints to FILE\n"
    "      --busy-poll USEC     after activity, poll this long before sleeping (default 100;\n"
    "                           0: sleep at once). Yields to anything runnable, and stops\n"
    "                           while disk requests are in flight\n"
    "      --disk PATH[,ro][,direct][,queues=N]\n"
    "                           a raw disk image as the next vbd (repeatable); direct: O_DIRECT;\n"
    "                           queues: ring queues offered (1-16, default 4)\n"
    "      --net SPEC           a network interface as the next vif (repeatable):\n"
    "                             user[,hostfwd=tcp:127.0.0.1:8080-:80]...  NAT, no root\n"
    "                               (libslirp, with published TCP ports served by the\n"
    "                               hypervisor itself; ,backend=slirp: libslirp for all;\n"
    "                               ,backend=passt: Debian's passt instead)\n"
    "                             tap=NAME    a host TAP device\n"
    "                             switch=NAME a switch shared with other appliances\n"
    "                           then optionally ,mac=XX:..:XX ,rate=10Mb/s ,ip=A.B.C.D/N ,gw=A.B.C.D;\n"
    "                           none: no network. Default: one `user` vif if the image uses sockets\n"
    "  -p, --publish [ADDR:]HOSTPORT:PORT[/udp]\n"
    "                           forward a host port to the guest through the first user vif\n"
    "                           (ADDR defaults to 127.0.0.1), e.g. -p 8080:80; -p none: publish\n"
    "                           nothing, not even the ports the image's manifest names\n"
    "      --xenstore-socket PATH  serve xenstore to host tools (xenstore-ls, ...) on\n"
    "                           this Unix socket; use them with XENSTORED_PATH=PATH.\n"
    "                           Without it a private socket is made (shown with -v)\n"
    "      --require-signed     refuse a bare ELF, an unsigned image, or one signed by a key\n"
    "                           not in --trusted-keys\n"
    "      --trusted-keys DIR   public keys (*.pub, from `atoll keygen`) to accept; implies\n"
    "                           --require-signed\n"
    "  -v, --verbose            print the hypervisor's boot log with timings to stderr\n"
    "  -h, --help               show this help\n"
    "\n"
    "exit status:\n"
    "  0-124  the guest powered off with this exit status\n"
    "  125    atoll itself failed (bad arguments, unreadable or invalid image, host error)\n"
    "  128    the guest rebooted and --on-reboot is destroy\n"
    "  130    interrupted (Ctrl-C, SIGTERM)\n"
    "  134    the guest crashed (fault, abort, failed assertion); a backtrace is printed\n"
    "  159    the guest made a Linux system call and was killed by its sandbox\n";

[[noreturn]] void usage_error(const std::string& message) {
  fprintf(stderr, "atoll: %s\nTry `atoll run --help`.\n", message.c_str());
  exit(kExitAtollError);
}

// Every number on the command line goes through parse_decimal (decimal.h);
// a bad one stops with the option's name and the range it takes.
uint64_t number_option(const std::string& option, const std::string& text, uint64_t min, uint64_t max) {
  auto v = parse_decimal(text, min, max);
  if (!v) usage_error(option + " takes a whole number " + range_text(min, max) + ", not `" + text + "`");
  return *v;
}

// A memory size (run_options.h).
uint64_t memory_option(const std::string& option, const std::string& text) {
  auto v = parse_memory_size(text);
  if (!v) usage_error(option + " takes " + memory_size_rule() + ", not `" + text + "`");
  return *v;
}

Action action_option(const std::string& option, const std::string& text) {
  auto action = atl::hv::parse_action(text);
  if (!action) usage_error(option + " takes destroy, restart or preserve, not `" + text + "`");
  return *action;
}

// A private directory (mode 0700) for the xenstore socket, removed at exit.
struct SocketDir {
  std::string path;
  bool create(std::string& error) {
    const char* base = getenv("XDG_RUNTIME_DIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/atoll-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back(0);
    if (!mkdtemp(buf.data())) { error = std::string("cannot create a socket directory: ") + strerror(errno); return false; }
    path = buf.data();
    return true;
  }
  ~SocketDir() {
    if (path.empty()) return;
    unlink((path + "/xenstored").c_str());
    rmdir(path.c_str());
  }
};

// The terminal's input goes to the guest's console ring. A pipe or terminal is
// watched and read once per readiness (so it never blocks and stays in blocking
// mode for whoever shares it); a file or /dev/null, which epoll refuses, is read
// to its end at once.
void forward_stdin(EventLoop& loop, ConsoleBackend& console, bool& open) {
  if (!open) return;
  char buf[4096];
  bool watched = loop.add_fd(STDIN_FILENO, EPOLLIN, [&console, &open, &loop](uint32_t) {
    char chunk[4096];
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n > 0) { console.push_input(chunk, n); return; }
    if (n < 0 && errno == EINTR) return;
    open = false;  // EOF or error: stop watching
    loop.remove_fd(STDIN_FILENO);
  });
  if (watched) return;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n > 0) { console.push_input(buf, n); continue; }
    if (n < 0 && errno == EINTR) continue;
    break;
  }
  open = false;
}

void wait_for_interrupt(const char* why) {
  fprintf(stderr, "atoll: %s; domain preserved, press Ctrl-C to destroy it\n", why);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, nullptr);
  int sig;
  sigwait(&set, &sig);
}

// What `atoll run`'s command line asked for, before the image's manifest
// fills in what it left open.
struct RunOptions {
  DomainConfig config;
  std::string image_path;
  std::vector<std::string> guest_args;
  unsigned max_restarts = kDefaultMaxRestarts;
  std::string console_log;
  std::string xenstore_socket;
  std::vector<DiskConfig> disks;
  std::vector<VifConfig> vifs;
  bool net_none = false, net_given = false, memory_given = false, publish_none = false;
  std::vector<HostFwd> published;
  uint64_t busy_poll_us = kDefaultBusyPollUs;
  bool require_signed = false;
  std::string trusted_keys;
};

RunOptions parse_run_options(int argc, char** argv) {
  RunOptions o;
  DomainConfig& config = o.config;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "-h" || a == "--help") { fputs(kRunHelp, stdout); exit(0); }
    else if (a == "--") { for (++i; i < argc; ++i) o.guest_args.push_back(argv[i]); }
    else if (a == "-m" || a == "--memory") {
      config.memory = memory_option(a, value());
      o.memory_given = true;
    } else if (a == "-n" || a == "--name") config.name = value();
    else if (a == "--on-poweroff") config.on_poweroff = action_option(a, value());
    else if (a == "--on-reboot") config.on_reboot = action_option(a, value());
    else if (a == "--on-crash") config.on_crash = action_option(a, value());
    else if (a == "--max-restarts") o.max_restarts = static_cast<unsigned>(number_option(a, value(), 0, kMaxRestartsLimit));
    else if (a == "-v" || a == "--verbose") config.verbose = true;
    else if (a == "--console-log") o.console_log = value();
    else if (a == "--disk") {
      std::string v = value();
      DiskConfig disk;
      if (!parse_disk_option(v, disk)) usage_error("cannot read --disk `" + v + "` (try path, path,ro, path,direct or path,queues=N with N " +
                                            range_text(1, kMaxQueuesLimit) + ")");
      o.disks.push_back(disk);
    }
    else if (a == "--net") {
      std::string v = value(), why;
      o.net_given = true;
      if (v == "none") { o.net_none = true; continue; }
      VifConfig vif;
      if (!parse_vif_option(v, vif, why)) usage_error("--net " + v + ": " + why);
      o.vifs.push_back(vif);
    }
    else if (a == "-p" || a == "--publish") {
      std::string v = value();
      if (v == "none") { o.publish_none = true; continue; }
      HostFwd fwd;
      if (!parse_publish(v, fwd)) usage_error("cannot read --publish " + v + " (try 8080:80 or 127.0.0.1:5353:53/udp; ports are 1 to 65535)");
      o.published.push_back(fwd);
    }
    else if (a == "--xenstore-socket") o.xenstore_socket = value();
    else if (a == "--busy-poll") o.busy_poll_us = number_option(a, value(), 0, kMaxBusyPollUs);
    else if (a == "--require-signed") o.require_signed = true;
    else if (a == "--trusted-keys") { o.trusted_keys = value(); o.require_signed = true; }
    else if (!a.empty() && a[0] == '-') usage_error("unknown option " + a);
    else if (o.image_path.empty()) o.image_path = a;
    else o.guest_args.push_back(a);
  }
  if (o.image_path.empty()) usage_error("run needs an IMAGE");
  if (o.require_signed && o.trusted_keys.empty())
    usage_error("--require-signed needs --trusted-keys DIR (the public keys to accept)");
  return o;
}

// An empty scratch disk of `size` bytes that lives as long as this process:
// an unnamed file (O_TMPFILE) the backend opens through /proc/self/fd, so
// nothing is left behind however atoll ends.
std::string ephemeral_disk(const image::ManifestDisk& d, std::string& error) {
  const char* tmp = getenv("TMPDIR");
  std::string dir = tmp && *tmp ? tmp : "/tmp";
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(d.ephemeral_size)) != 0) {
    error = "cannot make the ephemeral disk `" + d.name + "` in " + dir + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return "";
  }
  // The descriptor stays open for atoll's life (close-on-exec: no guest inherits it).
  return "/proc/self/fd/" + std::to_string(fd);
}

// Fills what the command line left open from the image's manifest: memory,
// vifs, published ports, disks, guest arguments.
void apply_manifest(const Manifest& m, RunOptions& o) {
  if (!o.memory_given && m.memory) o.config.memory = m.memory;
  if (o.guest_args.empty() && !m.cmdline.empty()) o.config.cmdline = guest_cmdline(o.config.name, m.cmdline);
  if (!o.net_given && m.vifs) {
    if (*m.vifs == 0) o.net_none = true;
    for (unsigned i = 0; i < *m.vifs; ++i) o.vifs.push_back(VifConfig{});
  }
  if (o.published.empty() && !o.publish_none && !o.net_given) {
    for (const auto& port : m.publish) {
      HostFwd fwd;
      if (!parse_publish(image::format_manifest_port(port), fwd)) usage_error("the manifest's publish line cannot be used");
      o.published.push_back(fwd);
    }
  }
  for (size_t i = o.disks.size(); i < m.disks.size(); ++i) {
    const image::ManifestDisk& d = m.disks[i];
    if (d.need == image::DiskNeed::kOptional) break;  // later disks would take its place
    if (d.need == image::DiskNeed::kRequired)
      usage_error("image " + o.image_path + " needs disk " + std::to_string(i + 1) + " `" + d.name + "` (" +
                  (d.read_only ? "read-only" : "read-write") + "): give it with --disk PATH" +
                  (d.read_only ? ",ro" : "") + (i > 0 ? " after the first " + std::to_string(i) + " --disk" : ""));
    std::string error;
    DiskConfig disk;
    disk.path = ephemeral_disk(d, error);
    if (disk.path.empty()) {
      fprintf(stderr, "atoll: %s\n", error.c_str());
      exit(kExitAtollError);
    }
    o.disks.push_back(disk);
  }
}

int cmd_run(int argc, char** argv) {
  RunOptions o = parse_run_options(argc, argv);
  DomainConfig& config = o.config;
  if (config.name.empty()) config.name = o.image_path.substr(o.image_path.rfind('/') + 1);
  config.cmdline = quote_arg(config.name);
  for (auto& g : o.guest_args) config.cmdline += " " + quote_arg(g);

  // The image is verified before anything else is set up.
  std::string error;
  if (!image::crypto_ready()) { fprintf(stderr, "atoll: libsodium could not initialise\n"); return kExitAtollError; }
  std::optional<image::TrustedKeys> trusted;
  if (o.require_signed) {
    trusted = image::load_trusted_keys(o.trusted_keys, error);
    if (!trusted) { fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitAtollError; }
    if (trusted->keys.empty()) {
      fprintf(stderr, "atoll: --trusted-keys %s holds no public key (*.pub)\n", o.trusted_keys.c_str());
      return kExitAtollError;
    }
  }
  auto bootable = image::open_bootable(o.image_path,
                                       o.require_signed ? image::SignaturePolicy::kRequireTrusted : image::SignaturePolicy::kAnyImage,
                                       trusted ? &*trusted : nullptr, error);
  if (!bootable) { fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitAtollError; }
  auto image = ElfImage::try_parse(bootable->elf, error);
  if (!image) { fprintf(stderr, "atoll: invalid image %s: %s\n", o.image_path.c_str(), error.c_str()); return kExitAtollError; }
  if (bootable->manifest) apply_manifest(*bootable->manifest, o);
  config.archive = bootable->archive;
  if (config.cmdline.size() > kMaxCmdlineBytes) usage_error("the guest command line is longer than Xen's 1023 bytes");

  auto& vifs = o.vifs;
  auto& disks = o.disks;
  auto& published = o.published;
  int console_log_fd = -1;
  if (!o.console_log.empty()) {
    console_log_fd = open(o.console_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (console_log_fd < 0) {
      fprintf(stderr, "atoll: cannot open console log %s: %s\n", o.console_log.c_str(), strerror(errno));
      return kExitAtollError;
    }
  }
  bool stdin_open = true;

  if (o.net_none) vifs.clear();
  else if (!o.net_given && vifs.empty() && (image->defines("atoll_wants_network") || !published.empty())) vifs.push_back(VifConfig{});
  if (!published.empty()) {
    auto user = std::find_if(vifs.begin(), vifs.end(), [](const VifConfig& v) { return v.mode == VifMode::kUser; });
    if (user == vifs.end()) usage_error("--publish needs a user vif (--net user)");
    user->hostfwd.insert(user->hostfwd.end(), published.begin(), published.end());
  }

  EventLoop loop;
  loop.set_busy_poll(o.busy_poll_us * 1000);
  // Uplinks outlive domain restarts: forwarded ports and switch ports stay.
  std::vector<std::unique_ptr<FramePort>> uplinks;
  for (const VifConfig& vif : vifs) {
    auto uplink = open_uplink(loop, vif, error);
    if (!uplink) { fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitAtollError; }
    uplinks.push_back(std::move(uplink));
  }
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&stop_signals, sig);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  int signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
  Domain* running = nullptr;
  bool interrupted = false;
  loop.add_fd(signal_fd, EPOLLIN, [&](uint32_t) {
    signalfd_siginfo si;
    if (read(signal_fd, &si, sizeof si) <= 0) return;
    interrupted = true;
    if (running) running->destroy(EndReason::kInterrupted, std::string("stopped by ") + strsignal(static_cast<int>(si.ssi_signo)));
  });

  xs::Xenstored store(loop);
  SocketDir socket_dir;
  const std::string& xenstore_socket = o.xenstore_socket;
  std::string socket_path = xenstore_socket;
  if (socket_path.empty()) {
    if (!socket_dir.create(error)) { fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitAtollError; }
    socket_path = socket_dir.path + "/xenstored";
  }
  if (!store.listen(socket_path, error)) {
    fprintf(stderr, "atoll: cannot serve xenstore on %s: %s\n", socket_path.c_str(), error.c_str());
    return kExitAtollError;
  }
  if (config.verbose || !xenstore_socket.empty())
    fprintf(stderr, "atoll: xenstore for host tools: XENSTORED_PATH=%s\n", socket_path.c_str());

  for (unsigned restarts = 0;; ++restarts) {
    auto domain = Domain::try_create(loop, config, *image, 1, error);
    if (!domain) { fprintf(stderr, "atoll: cannot create the domain: %s\n", error.c_str()); return kExitAtollError; }
    running = domain.get();
    auto console = ConsoleBackend::try_create(*domain, {STDOUT_FILENO, console_log_fd}, error);
    if (!console) { fprintf(stderr, "atoll: cannot set up the console: %s\n", error.c_str()); return kExitAtollError; }
    auto store_link = XenstoreLink::try_create(*domain, store, error);
    if (!store_link) { fprintf(stderr, "atoll: cannot connect xenstore: %s\n", error.c_str()); return kExitAtollError; }
    std::vector<std::unique_ptr<BlkBack>> blkbacks;
    for (size_t i = 0; i < disks.size(); ++i) {
      auto blk = BlkBack::try_create(*domain, store, loop, disks[i], vbd_devid(static_cast<unsigned>(i)), error);
      if (!blk) { fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitAtollError; }
      blkbacks.push_back(std::move(blk));
    }
    std::vector<std::unique_ptr<NetBack>> netbacks;
    for (size_t i = 0; i < vifs.size(); ++i) {
      auto net = NetBack::try_create(*domain, store, loop, vifs[i], static_cast<uint32_t>(i), *uplinks[i], error);
      if (!net) { fprintf(stderr, "atoll: %s\n", error.c_str()); return kExitAtollError; }
      netbacks.push_back(std::move(net));
    }
    forward_stdin(loop, *console, stdin_open);
    DomainEnd e{EndReason::kStartFailed, 0, ""};
    if (!domain->start(error)) {
      e.detail = error;
    } else {
      while (!domain->ended()) loop.run_once();
      e = domain->finish();
    }
    running = nullptr;
    if (stdin_open) loop.remove_fd(STDIN_FILENO);
    fflush(stdout);
    Action action = Action::kDestroy;
    int status = 0;
    switch (e.reason) {
      case EndReason::kPoweroff: action = config.on_poweroff; status = e.exit_status; break;
      case EndReason::kReboot: action = config.on_reboot; status = kExitReboot; break;
      case EndReason::kCrash:
      case EndReason::kWatchdog:
        action = config.on_crash; status = kExitCrash; break;
      case EndReason::kForbiddenSyscall: action = config.on_crash; status = kExitForbiddenSyscall; break;
      case EndReason::kInterrupted: status = kExitInterrupted; break;
      case EndReason::kStartFailed:
        fprintf(stderr, "atoll: cannot start the domain: %s\n", e.detail.c_str());
        return kExitAtollError;
      default: status = kExitCrash; break;
    }
    if (e.reason != EndReason::kPoweroff && e.reason != EndReason::kInterrupted)
      fprintf(stderr, "atoll: domain %s: %s%s%s\n", config.name.c_str(), to_string(e.reason), e.detail.empty() ? "" : ": ",
              e.detail.c_str());
    if (interrupted) return kExitInterrupted;
    if (action == Action::kRestart) {
      if (restarts + 1 > o.max_restarts) {
        fprintf(stderr, "atoll: domain %s restarted %u times in a row; giving up\n", config.name.c_str(), o.max_restarts);
        return status;
      }
      fprintf(stderr, "atoll: restarting domain %s\n", config.name.c_str());
      continue;
    }
    if (action == Action::kPreserve) wait_for_interrupt(to_string(e.reason));
    return status;
  }
}

int run_command(int argc, char** argv) {
  if (argc < 2) { fputs(kMainHelp, stderr); return kExitAtollError; }
  std::string cmd = argv[1];
  if (cmd == "-h" || cmd == "--help") { fputs(kMainHelp, stdout); return 0; }
  if (cmd == "help") {
    std::string topic = argc > 2 ? argv[2] : "";
    if (topic == "run") fputs(kRunHelp, stdout);
    else if (topic == "create") fputs(kCreateHelp, stdout);
    else if (topic == "seal") fputs(kSealHelp, stdout);
    else if (topic == "inspect") fputs(kInspectHelp, stdout);
    else if (topic == "keygen") fputs(kKeygenHelp, stdout);
    else if (topic == "sign") fputs(kSignHelp, stdout);
    else if (argc > 2 && std::string(argv[2]) == "version") fputs("usage: atoll version\n\nPrints the version of atoll and the Xen ABI it implements.\n", stdout);
    else fputs(kMainHelp, stdout);
    return 0;
  }
  if (cmd == "run") return cmd_run(argc - 2, argv + 2);
  if (cmd == "create") return cmd_create(argc - 2, argv + 2, cmd_run);
  if (cmd == "seal") return cmd_seal(argc - 2, argv + 2);
  if (cmd == "inspect") return cmd_inspect(argc - 2, argv + 2);
  if (cmd == "keygen") return cmd_keygen(argc - 2, argv + 2);
  if (cmd == "sign") return cmd_sign(argc - 2, argv + 2);
  if (cmd == "version" || cmd == "--version") {
    if (argc > 2 && (std::string(argv[2]) == "-h" || std::string(argv[2]) == "--help")) {
      fputs("usage: atoll version\n\nPrints the version of atoll and the Xen ABI it implements.\n", stdout);
      return 0;
    }
    printf("atoll 0.1.0 (hosted hypervisor; Xen 4.17 PV ABI, interface 0x%x)\n", __XEN_INTERFACE_VERSION__);
    return 0;
  }
  fprintf(stderr, "atoll: unknown command `%s`\n\n%s", cmd.c_str(), kMainHelp);
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
