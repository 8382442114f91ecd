// The device strings inside a config's `vif = [ ... ]` and `disk = [ ... ]`
// lists (xl-network-configuration(5), xl-disk-configuration(5)), read into the
// same VifConfig and DiskConfig that `atoll run --net` and `--disk` make.
//
// A vif is one of user, tap=NAME or switch=NAME (xl's bridge=NAME is taken as
// switch=NAME), in any place in the string, plus the items --net takes after
// it: mac=, ip=, gw=, rate=, hostfwd=, backend=. No mode is user; '' is user.
//
// A disk is xl's mix of positional (target, format, vdev, access) and named
// parameters, with target= last taking the rest of the string, commas and all;
// the deprecated `file:PATH,VDEV,ACCESS` and `raw:` forms too. format is raw
// (the only one), vdev xvda to xvdp (the next free one when not given), access
// ro/r or rw/w; our own flags are direct and queues=N (as --disk).
#pragma once

#include <optional>
#include <string>

#include "disk_config.h"
#include "vif_config.h"
#include "xl_cfg.h"

namespace atl::hv {

struct VifSpec {
  VifConfig config;
  std::string text;  // as `atoll run --net` takes it: the mode first
};

struct DiskSpec {
  DiskConfig config;             // path as written (the caller resolves it)
  std::optional<unsigned> vdev;  // 0 = xvda ... 15 = xvdp; none: the next free one
};

// Errors carry only the message; the caller says where.
cfg::Parsed<VifSpec> parse_xl_vif(const std::string& text);
cfg::Parsed<DiskSpec> parse_xl_disk(const std::string& text);

// "xvdc" for 2.
std::string vdev_name(unsigned index);

}  // namespace atl::hv
