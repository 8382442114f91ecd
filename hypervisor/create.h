// `atoll create CFG [KEY=VALUE...]`: runs the domain a config describes
// (config/domain_spec.h) in the foreground, as `atoll run` with the equivalent
// flags (config/run_args.h) does, until the fleet daemon of issue 13 exists.
#pragma once

namespace atl::hv {

extern const char* const kCreateHelp;
// The arguments after `create`.
int cmd_create(int argc, char** argv);

}  // namespace atl::hv
