// `atoll create CFG [KEY=VALUE...]`: the domain a config describes
// (config/domain_spec.h), said as `atoll run` flags (config/run_args.h), is
// created on the daemon when one runs, else run in the foreground as `atoll
// run` would.
#pragma once

namespace atl::hv {

extern const char* const kCreateHelp;
// The arguments after `create`.
int cmd_create(int argc, char** argv);

}  // namespace atl::hv
