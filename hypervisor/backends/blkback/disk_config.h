// A vbd as `atoll run --disk` describes it: `path[,ro][,direct][,queues=N]`.
// Kept apart from blkback.h so a config reader can use it without the data path.
#pragma once

#include <memory>
#include <string>

namespace atl::hv {

struct DiskConfig {
  std::string path;
  bool read_only = false;
  // O_DIRECT on the image file (the page cache bypassed), where the file system allows it.
  bool direct = false;
  // multi-queue-max-queues: rings the frontend may set up.
  unsigned queues = 4;
  // An ephemeral disk (docs/images.md): the unnamed scratch file that `path`
  // names through /proc/self/fd; its descriptor closes with the last copy of
  // this config, so a daemon keeps none after the domain's record is gone.
  std::shared_ptr<const int> scratch;
};

// Parses `path[,ro][,direct][,queues=N]` (the --disk option's value, N in
// 1..16); false for an unknown flag or a bad N.
bool parse_disk_option(const std::string& text, DiskConfig& out);

// Applies one of the flags after the path (ro, direct, queues=N, and rw, which
// changes nothing); false
// when it is none of them or N is out of range.
bool apply_disk_flag(const std::string& flag, DiskConfig& out);

}  // namespace atl::hv
