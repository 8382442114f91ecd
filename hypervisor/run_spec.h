// What `atoll run`'s command line asks for (RunOptions), read without side
// effects, and the DomainPlan it resolves to once the image is opened and its
// manifest has filled in what the command line left open. `atoll run`, `atoll
// create` (through config/run_args.h) and the daemon's create all go through
// here, so a domain is described one way whoever asks for it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "blkback_xenbus.h"  // kMaxQueuesLimit
#include "disk_config.h"
#include "domain.h"
#include "elf_image.h"
#include "image/image_file.h"
#include "run_options.h"
#include "vif_config.h"

namespace atl::hv {

// Why a command line or an image cannot make a domain. A usage error is the
// user's wording to fix (the CLI adds "Try `atoll run --help`").
struct RunError {
  std::string message;
  bool usage = false;
};

// A T, or the RunError that stopped its making.
template <typename T>
class [[nodiscard]] RunChecked {
 public:
  RunChecked(T value) : m_v(std::move(value)) {}
  RunChecked(RunError error) : m_v(std::move(error)) {}
  bool ok() const { return m_v.index() == 0; }
  T& value() { return std::get<0>(m_v); }
  const RunError& error() const { return std::get<1>(m_v); }

 private:
  std::variant<T, RunError> m_v;
};

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
  bool busy_poll_given = false;
  unsigned max_connections = kDefaultMaxConnections;
  bool require_signed = false;
  std::string trusted_keys;
  // --no-daemon: run in the foreground even when a daemon is running.
  bool no_daemon = false;
  bool help = false;  // -h: nothing else was read
};

// The arguments after `atoll run`. Reads only; opens nothing.
RunChecked<RunOptions> parse_run_options(const std::vector<std::string>& args);

// Makes the paths the options name (image, disks, console log, keys)
// absolute against `dir`: the daemon opens them for a client elsewhere.
void anchor_paths(RunOptions& options, const std::string& dir);

// An opened, verified image and its parsed ELF, shared by every incarnation of
// the domain (restarts boot the same bytes).
struct LoadedImage {
  image::BootableImage bootable;
  std::optional<ElfImage> elf;
};

// Everything the toolstack needs to build the domain (toolstack.h).
struct DomainPlan {
  DomainConfig config;
  std::shared_ptr<const LoadedImage> image;
  std::vector<DiskConfig> disks;
  std::vector<VifConfig> vifs;
  unsigned max_restarts = kDefaultMaxRestarts;
  std::string console_log;
  uint64_t busy_poll_us = kDefaultBusyPollUs;
};

class ImageCache;

// Opens and verifies the image, applies its manifest and the defaults (the
// domain's name, its command line, a user vif when the image uses sockets).
// With a cache, an image already open is used again unless its signature is
// to be checked (--require-signed checks every time).
RunChecked<DomainPlan> resolve_run(RunOptions options, ImageCache* cache = nullptr);

}  // namespace atl::hv
