// A domain as a config file in xl.cfg syntax describes it (docs/config.md):
// everything `atoll run` needs to build the domain, checked and resolved (paths
// absolute, files there, devices numbered), or the first error with its file,
// line and key, e.g.
//
//   vm.cfg:7: memory: takes a whole number of MiB from 1 to 3840, not 'lots'
//
// Nothing is started here; `atoll create -n` prints the result.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "domain.h"
#include "run_options.h"
#include "xl_cfg.h"
#include "xl_devices.h"

namespace atl::hv {

struct DomainSpec {
  std::string name;                 // default: the kernel's file name
  uint64_t memory = 16ULL << 20;    // bytes
  uint64_t maxmem = 0;              // bytes; memory when not given
  std::string kernel;               // the appliance image, an absolute path
  std::string cmdline;              // the guest's arguments after argv[0], in its command-line syntax
  Action on_poweroff = Action::kDestroy;
  Action on_reboot = Action::kRestart;
  Action on_crash = Action::kDestroy;
  // Not given: `atoll run`'s default (one user vif if the image uses sockets
  // or publish is given); given, possibly empty: exactly these.
  std::optional<std::vector<VifSpec>> vifs;
  std::vector<std::string> publish;  // -p's [ADDR:]HOSTPORT:PORT[/udp], as written
  std::vector<HostFwd> published;
  std::vector<DiskSpec> disks;       // vdev always set, path absolute
  unsigned max_restarts = kDefaultMaxRestarts;
  uint64_t busy_poll_us = kDefaultBusyPollUs;
  unsigned cpu_cap = 0;              // xl's cpu_cap: percent of one CPU, 0 = none
  std::string console_log;           // absolute path, or empty
  std::string type;                  // xl's pv or pvh, for real Xen; the hosted hypervisor ignores it

  // name, memory, the whole guest command line and the on_* actions.
  DomainConfig domain_config() const;
  // The spec in the config syntax, every key written out: reading it back
  // gives the same spec.
  std::string to_cfg() const;
};

// How the files a config names are checked (kernel, disk targets): an empty
// string when `path` will do, else why not. The default stats the file.
using FileCheck = std::function<std::string(const std::string& path)>;
std::string check_regular_file(const std::string& path);

struct SpecSources {
  std::string text;                    // the config file's contents
  std::string name;                    // the file as the user named it, for errors
  std::string dir;                     // relative paths in the file are from here
  std::string cwd;                     // relative paths on the command line are from here
  std::vector<std::string> overrides;  // KEY=VALUE from the command line
  FileCheck check_file = check_regular_file;
};

cfg::Parsed<DomainSpec> read_domain_spec(const SpecSources& sources);

// Reads the file at `path` (at most 1 MiB) and then as read_domain_spec.
cfg::Parsed<DomainSpec> load_domain_spec(const std::string& path, const std::vector<std::string>& overrides);

}  // namespace atl::hv
