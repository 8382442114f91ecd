#include "run_spec.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "decimal.h"
#include "image_cache.h"
#include "image/image_crypto.h"
#include "image/manifest.h"

namespace atl::hv {

namespace {

RunError usage(std::string message) { return RunError{std::move(message), true}; }

// The reader for one command line: every option's value is checked here, and
// the first bad one stops the parse with its name and the rule it breaks.
class RunArgReader {
 public:
  explicit RunArgReader(const std::vector<std::string>& args) : m_args(args) {}
  RunChecked<RunOptions> read();

 private:
  std::optional<std::string> value(const std::string& option);
  std::optional<uint64_t> number(const std::string& option, uint64_t min, uint64_t max);
  std::optional<uint64_t> memory(const std::string& option);
  std::optional<Action> action(const std::string& option);
  bool read_one(RunOptions& o);

  const std::vector<std::string>& m_args;
  size_t m_i = 0;
  std::optional<RunError> m_error;
};

std::optional<std::string> RunArgReader::value(const std::string& option) {
  if (m_i + 1 >= m_args.size()) {
    m_error = usage(option + " needs a value");
    return std::nullopt;
  }
  return m_args[++m_i];
}

// Every number on the command line goes through parse_decimal (decimal.h);
// a bad one stops with the option's name and the range it takes.
std::optional<uint64_t> RunArgReader::number(const std::string& option, uint64_t min, uint64_t max) {
  auto text = value(option);
  if (!text) return std::nullopt;
  auto v = parse_decimal(*text, min, max);
  if (!v) m_error = usage(option + " takes a whole number " + range_text(min, max) + ", not `" + *text + "`");
  return v;
}

std::optional<uint64_t> RunArgReader::memory(const std::string& option) {
  auto text = value(option);
  if (!text) return std::nullopt;
  auto v = parse_memory_size(*text);
  if (!v) m_error = usage(option + " takes " + memory_size_rule() + ", not `" + *text + "`");
  return v;
}

std::optional<Action> RunArgReader::action(const std::string& option) {
  auto text = value(option);
  if (!text) return std::nullopt;
  auto a = parse_action(*text);
  if (!a) m_error = usage(option + " takes destroy, restart or preserve, not `" + *text + "`");
  return a;
}

// One argument (and its value); false once an error is set.
bool RunArgReader::read_one(RunOptions& o) {
  const std::string a = m_args[m_i];
  DomainConfig& config = o.config;
  auto set = [&](auto parsed, auto& field) {
    if (parsed) field = *parsed;
    return parsed.has_value();
  };
  if (a == "-h" || a == "--help") { o.help = true; m_i = m_args.size(); return true; }
  if (a == "--") {
    o.guest_args.insert(o.guest_args.end(), m_args.begin() + static_cast<long>(m_i) + 1, m_args.end());
    m_i = m_args.size();
    return true;
  }
  if (a == "-m" || a == "--memory") return (o.memory_given = set(memory(a), config.memory));
  if (a == "-n" || a == "--name") return set(value(a), config.name);
  if (a == "--on-poweroff") return set(action(a), config.on_poweroff);
  if (a == "--on-reboot") return set(action(a), config.on_reboot);
  if (a == "--on-crash") return set(action(a), config.on_crash);
  if (a == "--max-restarts") {
    auto n = number(a, 0, kMaxRestartsLimit);
    if (n) o.max_restarts = static_cast<unsigned>(*n);
    return n.has_value();
  }
  if (a == "-v" || a == "--verbose") { config.verbose = true; return true; }
  if (a == "--console-log") return set(value(a), o.console_log);
  if (a == "--xenstore-socket") return set(value(a), o.xenstore_socket);
  if (a == "--busy-poll") return (o.busy_poll_given = set(number(a, 0, kMaxBusyPollUs), o.busy_poll_us));
  if (a == "--no-daemon") { o.no_daemon = true; return true; }
  if (a == "--max-connections") {
    auto n = number(a, 1, kMaxConnectionsLimit);
    if (n) o.max_connections = static_cast<unsigned>(*n);
    return n.has_value();
  }
  if (a == "--cpu-cap") {
    auto n = number(a, 0, kMaxCpuCap);
    if (n) config.cpu_cap = static_cast<unsigned>(*n);
    return n.has_value();
  }
  if (a == "--require-signed") { o.require_signed = true; return true; }
  if (a == "--trusted-keys") { o.require_signed = true; return set(value(a), o.trusted_keys); }
  if (a == "--disk") {
    auto v = value(a);
    if (!v) return false;
    DiskConfig disk;
    if (!parse_disk_option(*v, disk)) {
      m_error = usage("cannot read --disk `" + *v + "` (try path, path,ro, path,direct or path,queues=N with N " +
                      range_text(1, kMaxQueuesLimit) + ")");
      return false;
    }
    o.disks.push_back(disk);
    return true;
  }
  if (a == "--net") {
    auto v = value(a);
    if (!v) return false;
    o.net_given = true;
    if (*v == "none") { o.net_none = true; return true; }
    VifConfig vif;
    std::string why;
    if (!parse_vif_option(*v, vif, why)) { m_error = usage("--net " + *v + ": " + why); return false; }
    o.vifs.push_back(vif);
    return true;
  }
  if (a == "-p" || a == "--publish") {
    auto v = value(a);
    if (!v) return false;
    if (*v == "none") { o.publish_none = true; return true; }
    HostFwd fwd;
    if (!parse_publish(*v, fwd)) {
      m_error = usage("cannot read --publish " + *v + " (try 8080:80 or 127.0.0.1:5353:53/udp; ports are 1 to 65535)");
      return false;
    }
    o.published.push_back(fwd);
    return true;
  }
  if (!a.empty() && a[0] == '-') { m_error = usage("unknown option " + a); return false; }
  if (o.image_path.empty()) o.image_path = a;
  else o.guest_args.push_back(a);
  return true;
}

RunChecked<RunOptions> RunArgReader::read() {
  RunOptions o;
  for (m_i = 0; m_i < m_args.size(); ++m_i)
    if (!read_one(o)) return *m_error;
  if (o.help) return o;
  if (o.image_path.empty()) return usage("run needs an IMAGE");
  if (o.require_signed && o.trusted_keys.empty())
    return usage("--require-signed needs --trusted-keys DIR (the public keys to accept)");
  return o;
}

}  // namespace

void anchor_paths(RunOptions& o, const std::string& dir) {
  auto anchor = [&dir](std::string& path) {
    if (!path.empty() && path[0] != '/') path = dir + "/" + path;
  };
  anchor(o.image_path);
  anchor(o.console_log);
  anchor(o.trusted_keys);
  for (DiskConfig& d : o.disks) anchor(d.path);
}

namespace {

// An empty scratch disk of `size` bytes that lives as long as its config (and
// at most as long as this process): an unnamed file (O_TMPFILE) the backend
// opens through /proc/self/fd, so nothing is left behind however atoll ends.
std::optional<DiskConfig> ephemeral_disk(const image::ManifestDisk& d, std::string& error) {
  const char* tmp = getenv("TMPDIR");
  std::string dir = tmp && *tmp ? tmp : "/tmp";
  int fd = open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(d.ephemeral_size)) != 0) {
    error = "cannot make the ephemeral disk `" + d.name + "` in " + dir + ": " + strerror(errno);
    if (fd >= 0) close(fd);
    return std::nullopt;
  }
  // Close-on-exec: no guest inherits it.
  DiskConfig disk;
  disk.path = "/proc/self/fd/" + std::to_string(fd);
  disk.scratch = std::shared_ptr<const int>(new int(fd), [](const int* owned) {
    close(*owned);
    delete owned;
  });
  return disk;
}

std::vector<std::string> split_blanks(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string t;
  for (const auto& w : words) t += (t.empty() ? "" : " ") + w;
  return t;
}

// Whether `args` holds `words` one after the other.
bool holds_in_a_row(const std::vector<std::string>& args, const std::vector<std::string>& words) {
  return std::search(args.begin(), args.end(), words.begin(), words.end()) != args.end();
}

// Fills what the command line left open from the image's manifest: memory,
// vifs, published ports, disks, guest arguments.
std::optional<RunError> apply_manifest(const image::Manifest& m, RunOptions& o) {
  if (!o.memory_given && m.memory) o.config.memory = m.memory;
  if (o.guest_args.empty() && !m.cmdline.empty()) o.config.cmdline = guest_cmdline(o.config.name, m.cmdline);
  if (!o.net_given && m.vifs) {
    if (*m.vifs == 0) o.net_none = true;
    for (unsigned i = 0; i < *m.vifs; ++i) o.vifs.push_back(VifConfig{});
  }
  if (o.published.empty() && !o.publish_none && !o.net_given) {
    for (const auto& port : m.publish) {
      HostFwd fwd;
      if (!parse_publish(image::format_manifest_port(port), fwd)) return usage("the manifest's publish line cannot be used");
      o.published.push_back(fwd);
    }
  }
  for (size_t i = o.disks.size(); i < m.disks.size(); ++i) {
    const image::ManifestDisk& d = m.disks[i];
    if (d.need == image::DiskNeed::kOptional) break;  // later disks would take its place
    if (d.need == image::DiskNeed::kRequired && !d.unless.empty() &&
        holds_in_a_row(o.guest_args.empty() ? split_blanks(m.cmdline) : o.guest_args, d.unless))
      break;  // the arguments turn off what needs it; later disks would take its place
    if (d.need == image::DiskNeed::kRequired)
      return usage("image " + o.image_path + " needs disk " + std::to_string(i + 1) + " `" + d.name + "` (" +
                   (d.read_only ? "read-only" : "read-write") + "): give it with --disk PATH" +
                   (d.read_only ? ",ro" : "") + (i > 0 ? " after the first " + std::to_string(i) + " --disk" : "") +
                   (d.unless.empty() ? "" : ", or give the guest the arguments " + join_words(d.unless) + " (after --)"));
    std::string error;
    auto disk = ephemeral_disk(d, error);
    if (!disk) return RunError{error};
    o.disks.push_back(std::move(*disk));
  }
  return std::nullopt;
}

// Every check of the image, its parts' SHA-256 included, is made here, before
// anything else is set up. (Hashing on a thread while `atoll run` set up cost
// more than it hid: 1.06x a bare ELF's boot against 1.03x in line, in turns on
// an idle machine; bench/RESULTS.md.)
RunChecked<std::shared_ptr<const LoadedImage>> open_image(const RunOptions& o) {
  std::string error;
  if (!image::crypto_ready()) return RunError{"libsodium could not initialise"};
  std::optional<image::TrustedKeys> trusted;
  if (o.require_signed) {
    trusted = image::load_trusted_keys(o.trusted_keys, error);
    if (!trusted) return RunError{error};
    if (trusted->keys.empty()) return RunError{"--trusted-keys " + o.trusted_keys + " holds no public key (*.pub)"};
  }
  auto bootable = image::open_bootable(o.image_path,
                                       o.require_signed ? image::SignaturePolicy::kRequireTrusted : image::SignaturePolicy::kAnyImage,
                                       trusted ? &*trusted : nullptr, error);
  if (!bootable) return RunError{error};
  auto loaded = std::make_shared<LoadedImage>();
  loaded->bootable = std::move(*bootable);
  loaded->elf = ElfImage::try_parse(loaded->bootable.elf, error);
  if (!loaded->elf) return RunError{"invalid image " + o.image_path + ": " + error};
  return std::shared_ptr<const LoadedImage>(std::move(loaded));
}

}  // namespace

RunChecked<RunOptions> parse_run_options(const std::vector<std::string>& args) { return RunArgReader(args).read(); }

RunChecked<DomainPlan> resolve_run(RunOptions o, ImageCache* cache) {
  DomainConfig& config = o.config;
  if (config.name.empty()) config.name = o.image_path.substr(o.image_path.rfind('/') + 1);
  config.cmdline = quote_arg(config.name);
  for (auto& g : o.guest_args) config.cmdline += " " + quote_arg(g);

  // The image is verified before anything else is set up; a daemon's cache
  // keeps only images whose every check has passed.
  auto image = !cache || o.require_signed ? open_image(o)
                                          : cache->open(o.image_path, [&] { return open_image(o); });
  if (!image.ok()) return image.error();
  const LoadedImage& loaded = *image.value();
  if (loaded.bootable.manifest)
    if (auto error = apply_manifest(*loaded.bootable.manifest, o)) return *error;
  config.archive = loaded.bootable.archive;
  if (config.cmdline.size() > kMaxCmdlineBytes) return usage("the guest command line is longer than Xen's 1023 bytes");

  if (o.net_none) o.vifs.clear();
  else if (!o.net_given && o.vifs.empty() && (loaded.elf->defines("atoll_wants_network") || !o.published.empty()))
    o.vifs.push_back(VifConfig{});
  if (!o.published.empty()) {
    auto user = std::find_if(o.vifs.begin(), o.vifs.end(), [](const VifConfig& v) { return v.mode == VifMode::kUser; });
    if (user == o.vifs.end()) return usage("--publish needs a user vif (--net user)");
    user->hostfwd.insert(user->hostfwd.end(), o.published.begin(), o.published.end());
  }
  for (VifConfig& v : o.vifs) v.max_connections = o.max_connections;
  DomainPlan plan;
  plan.config = std::move(o.config);
  plan.image = std::move(image.value());
  plan.disks = std::move(o.disks);
  plan.vifs = std::move(o.vifs);
  plan.max_restarts = o.max_restarts;
  plan.console_log = std::move(o.console_log);
  plan.busy_poll_us = o.busy_poll_us;
  return plan;
}

}  // namespace atl::hv
